// The limits every HTTP listener of the service enforces (the Leaf alert
// webhook, the metrics endpoint): these listeners face networks the service
// does not control, so no peer may hold more than a bounded share of them for
// more than a bounded time. The flags are shared by every listener.
#ifndef SERVER_HTTPD_HTTP_LIMITS_H_
#define SERVER_HTTPD_HTTP_LIMITS_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/config/flags.h"

namespace leafsvc::httpd {

struct HttpLimits {
  // Open connections per listener; more are accepted and closed at once.
  int max_connections = 256;
  // Open connections per source address per listener.
  int max_connections_per_ip = 32;
  // From a connection's start (or the end of its previous response) to its
  // request fully received and answered. Dripping bytes does not extend it.
  absl::Duration request_timeout = absl::Seconds(10);
  // A connection with no traffic for this long is closed (keep-alive idle).
  absl::Duration idle_timeout = absl::Seconds(5);
};

// Declares --http_max_connections, --http_max_connections_per_ip,
// --http_request_timeout and --http_idle_timeout.
void AddHttpLimitFlags(FlagSet& flags);
HttpLimits ReadHttpLimitFlags(const FlagSet& flags);

}  // namespace leafsvc::httpd

#endif  // SERVER_HTTPD_HTTP_LIMITS_H_
