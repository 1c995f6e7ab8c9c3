// Collects one HTTP response from libcurl's header and body callbacks, within
// a size limit: a response larger than the limit is abandoned as soon as that
// is known (from Content-Length, or while the body streams), without
// buffering more than the limit.
#ifndef SERVER_HTTP_RESPONSE_READER_H_
#define SERVER_HTTP_RESPONSE_READER_H_

#include <cstddef>

#include "server/http/http_client.h"

namespace leafsvc::http {

class ResponseReader {
 public:
  // Forgets the previous response and reads the next one with at most
  // `max_bytes` of body. `head_request`: the response to a HEAD has a
  // Content-Length but no body, so the limit does not apply to it.
  void Reset(std::size_t max_bytes, bool head_request);

  // CURLOPT_HEADERFUNCTION with CURLOPT_HEADERDATA the reader: one call per
  // header line, status lines included. Header names are lower-cased; only
  // the final response's headers (after any 1xx) are kept. Returns 0 (which
  // aborts the transfer with CURLE_WRITE_ERROR) when Content-Length exceeds
  // the limit.
  static std::size_t OnHeader(char* data, std::size_t size, std::size_t n, void* reader);
  // CURLOPT_WRITEFUNCTION with CURLOPT_WRITEDATA the reader. Returns 0 when
  // the body would exceed the limit.
  static std::size_t OnBody(char* data, std::size_t size, std::size_t n, void* reader);

  // Whether any byte of an answer (a status or header line) has arrived.
  bool answered() const { return answered_; }
  // Whether the response was abandoned for exceeding the limit.
  bool too_large() const { return too_large_; }
  std::size_t max_bytes() const { return max_bytes_; }

  // The response read so far, with `status_code`; leaves the reader empty.
  HttpResponse Take(int status_code);

  // Zeroes and frees whatever is left of the response (a failed transfer's
  // partial body can quote secrets), so that a pooled handle holds none.
  void Release();
  // Bytes of response held (buffers, not just contents): 0 after Release.
  std::size_t held_bytes() const;

 private:
  HttpResponse response_;
  std::size_t max_bytes_ = 0;
  bool head_request_ = false;
  bool too_large_ = false;
  bool answered_ = false;
};

// The most body memory reserved up front from a Content-Length.
inline constexpr std::size_t kMaxReserveBytes = 1 << 20;

}  // namespace leafsvc::http

#endif  // SERVER_HTTP_RESPONSE_READER_H_
