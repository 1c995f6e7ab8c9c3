#include "server/httpd/http_limits.h"

namespace leafsvc::httpd {

void AddHttpLimitFlags(FlagSet& f) {
  using T = FlagSet::Type;
  f.Add("http_max_connections", T::kInt, "256",
        "most open connections on each HTTP listener (alerts, metrics); beyond it a new "
        "connection is closed at once");
  f.Add("http_max_connections_per_ip", T::kInt, "32",
        "most open connections from one source address on each HTTP listener");
  f.Add("http_request_timeout", T::kDuration, "10s",
        "a request on an HTTP listener must arrive whole and be answered within this time of "
        "its connection's start (or of the previous response); slow senders are cut off");
  f.Add("http_idle_timeout", T::kDuration, "5s",
        "an HTTP connection with no traffic for this long is closed (keep-alive idle limit)");
  f.SetRange("http_max_connections", 1, 65536);
  f.SetRange("http_max_connections_per_ip", 1, 65536);
  f.SetRange("http_request_timeout", absl::Milliseconds(100), absl::Minutes(10));
  f.SetRange("http_idle_timeout", absl::Seconds(1), absl::Hours(1));
}

HttpLimits ReadHttpLimitFlags(const FlagSet& f) {
  HttpLimits l;
  l.max_connections = static_cast<int>(f.GetInt("http_max_connections"));
  l.max_connections_per_ip = static_cast<int>(f.GetInt("http_max_connections_per_ip"));
  l.request_timeout = f.GetDuration("http_request_timeout");
  l.idle_timeout = f.GetDuration("http_idle_timeout");
  return l;
}

}  // namespace leafsvc::httpd
