// A raw TCP peer for the HTTP listener's hostile-peer tests: it sends exactly
// the bytes a test gives (malformed, dripped, never finished) and reads what
// comes back, with bounded waits.
#ifndef TESTS_HTTPD_RAW_PEER_H_
#define TESTS_HTTPD_RAW_PEER_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace leafsvc::httpd::testing {

class RawPeer {
 public:
  // Connects to 127.0.0.1:port, from `source_ip` when given (another
  // loopback address: a different peer for per-address limits).
  explicit RawPeer(int port, const std::string& source_ip = "");
  ~RawPeer();
  RawPeer(const RawPeer&) = delete;
  RawPeer& operator=(const RawPeer&) = delete;

  bool connected() const { return fd_ >= 0; }
  // False once the server has closed or reset the connection.
  bool Send(absl::string_view bytes);
  // Reads until the server closes the connection or `wait` passes.
  std::string ReadUntilClosed(absl::Duration wait);
  // Reads until `needle` has arrived (or close, or `wait`).
  std::string ReadUntil(absl::string_view needle, absl::Duration wait);
  // True when the server closes (or resets) the connection within `wait`;
  // bytes it sends first are discarded.
  bool ClosedWithin(absl::Duration wait);
  void Close();

 private:
  int fd_ = -1;
};

// The status code of the first HTTP response in `raw` (0 when none).
int StatusOf(absl::string_view raw);

}  // namespace leafsvc::httpd::testing

#endif  // TESTS_HTTPD_RAW_PEER_H_
