// Receives Leaf's webhook deliveries (alerts) on the service's hardened HTTP
// listener (server/httpd; --alerts_listen; put TLS in front of it, as Leaf
// only calls https:// URLs). It faces the whole network, since Leaf has no
// fixed source addresses, so everything an unauthenticated peer can make it
// do is bounded: the HTTP limits of server/httpd/http_limits.h, a body cap
// enforced as bytes arrive (413), refusals counted and logged at most once
// per 10 s per reason.
//
// Every POST must carry a valid X-Leaf-Signature: a missing or wrong one is
// answered 401 and nothing else happens. The registration confirmation is
// acknowledged. A signed alert that names a `credentialId` is published on
// the alert bus ("credential X changed") and answered 200
// {"result":"accepted"}: the listener knows nothing of watches, so the
// answer does not depend on whether this process (or any replica) watches
// the credential. What the alert cost (prompted, coalesced,
// unknown_credential) is counted by the watch hub when it takes the alert
// off the bus.
#ifndef SERVER_ALERTS_ALERT_LISTENER_H_
#define SERVER_ALERTS_ALERT_LISTENER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/httpd/http_limits.h"
#include "server/httpd/http_server.h"
#include "server/secrets/secret.h"
#include "server/watch/alert_bus.h"

namespace leafsvc::alerts {

// What became of one delivery: the answer's result, and the metric's label
// value for all but kResultAccepted (the watch hub counts what an accepted
// alert cost: prompted, coalesced or unknown_credential).
inline constexpr char kResultAccepted[] = "accepted";
inline constexpr char kResultConfirmation[] = "confirmation";
inline constexpr char kResultUnrecognized[] = "unrecognized";
inline constexpr char kResultBadSignature[] = "bad_signature";
inline constexpr char kResultTooLarge[] = "too_large";

struct AlertListenerOptions {
  std::string listen;  // host:port; port 0 picks one
  Secret secret;
  size_t max_body_bytes = 64 * 1024;
  httpd::HttpLimits limits;
  // Where accepted alerts go; must outlive the listener.
  watch::AlertBus* alerts = nullptr;
  // Told every delivery's result (one of the kResult* values) but accepted
  // alerts (counted where the bus delivers them).
  std::function<void(absl::string_view result)> on_result;
  // Told every connection or request the HTTP layer refused, by reason.
  std::function<void(absl::string_view reason)> on_refused;
};

class AlertListener {
 public:
  // Binds and starts serving on the listener's own loop thread.
  static absl::StatusOr<std::unique_ptr<AlertListener>> Start(AlertListenerOptions options);
  ~AlertListener();  // stops

  int port() const { return server_->port(); }
  // Closes the listener and every connection at once (see HttpServer::Stop).
  void Stop();

  // The answer to one delivery: HTTP status and result. Exposed for tests.
  struct Outcome {
    int http_status;
    const char* result;
  };
  static Outcome Handle(const AlertListenerOptions& options, absl::string_view body,
                        absl::string_view signature, bool signed_present);

 private:
  explicit AlertListener(AlertListenerOptions options);

  const AlertListenerOptions options_;
  std::unique_ptr<httpd::HttpServer> server_;
};

}  // namespace leafsvc::alerts

#endif  // SERVER_ALERTS_ALERT_LISTENER_H_
