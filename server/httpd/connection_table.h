// The open connections of one HTTP listener, as its event loop sees them:
// how many there are in all and per source address (to refuse new ones
// beyond the limits), and each one's deadline for its current request (to
// cut off peers that send slowly or never finish). Owned and used by one
// thread (the listener's loop); no locking.
#ifndef SERVER_HTTPD_CONNECTION_TABLE_H_
#define SERVER_HTTPD_CONNECTION_TABLE_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/httpd/http_limits.h"

namespace leafsvc::httpd {

// Why a connection or a request was refused (metric label values).
inline constexpr char kRefusedTooManyConnections[] = "too_many_connections";
inline constexpr char kRefusedTooManyConnectionsPerIp[] = "too_many_connections_per_ip";
inline constexpr char kRefusedRequestTimeout[] = "request_timeout";
inline constexpr char kRefusedBodyTooLarge[] = "body_too_large";
inline constexpr char kRefusedBadFraming[] = "bad_framing";
inline constexpr char kRefusedNotFound[] = "not_found";
inline constexpr char kRefusedMethodNotAllowed[] = "method_not_allowed";
// An async route's request when the listener (or its source address) already
// has as many requests waiting for their answers as it allows.
inline constexpr char kRefusedTooManyPending[] = "too_many_pending";
// An async route's answer did not come within the request deadline (503).
inline constexpr char kRefusedAnswerTimeout[] = "answer_timeout";

class ConnectionTable {
 public:
  explicit ConnectionTable(const HttpLimits& limits) : limits_(limits) {}

  // Null when a new connection from `ip` may open now, else the reason
  // (kRefusedTooManyConnections or kRefusedTooManyConnectionsPerIp).
  const char* Admit(absl::string_view ip) const;

  // A connection opened (`key` identifies it until Closed); its first
  // request is due by now + request_timeout.
  void Opened(const void* key, int fd, absl::string_view ip, absl::Time now);
  // Its request was answered; the next one is due by now + request_timeout.
  void RequestDone(const void* key, absl::Time now);
  void Closed(const void* key);
  // The connection's request waits for an answer from elsewhere (an async
  // route): its deadline is enforced by the caller, not by TakeOverdue.
  // Returns that deadline (InfinitePast when `key` is unknown).
  absl::Time Hold(const void* key);
  // The answer came: the response is due by now + request_timeout.
  void Release(const void* key, absl::Time now);

  // The descriptors of connections whose request is overdue, each returned
  // once (the caller shuts them down; the loop then sees them close).
  std::vector<int> TakeOverdue(absl::Time now);
  // The earliest deadline not yet taken; InfiniteFuture when none.
  absl::Time NextDeadline() const;

  int size() const { return static_cast<int>(connections_.size()); }
  int from(absl::string_view ip) const;

 private:
  struct Entry {
    int fd = -1;
    std::string ip;
    absl::Time deadline;
    bool overdue = false;  // already returned by TakeOverdue
    bool held = false;     // between Hold and Release
  };

  const HttpLimits limits_;
  absl::flat_hash_map<const void*, Entry> connections_;
  absl::flat_hash_map<std::string, int> per_ip_;
};

}  // namespace leafsvc::httpd

#endif  // SERVER_HTTPD_CONNECTION_TABLE_H_
