// Receives Leaf's webhook deliveries (alerts) on a plain HTTP listener of
// its own (--alerts_listen; put TLS in front of it, as Leaf only calls
// https:// URLs). Every POST must carry a valid X-Leaf-Signature: a missing
// or wrong one is answered 401, counted and logged, and nothing else
// happens. The registration confirmation is acknowledged; an alert's
// `credentialId` is handed to `prompt` (the watch registry re-reads that
// user at once). Unknown credential ids are acknowledged (200, so Leaf does
// not retry) and counted. Bodies over max_body_bytes get 413.
#ifndef SERVER_ALERTS_ALERT_LISTENER_H_
#define SERVER_ALERTS_ALERT_LISTENER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/util/secret.h"

namespace httplib {
class Server;
}

namespace leafsvc::alerts {

// What became of one delivery (metric label values).
inline constexpr char kResultPrompted[] = "prompted";
inline constexpr char kResultUnknownCredential[] = "unknown_credential";
inline constexpr char kResultConfirmation[] = "confirmation";
inline constexpr char kResultUnrecognized[] = "unrecognized";
inline constexpr char kResultBadSignature[] = "bad_signature";
inline constexpr char kResultTooLarge[] = "too_large";

struct AlertListenerOptions {
  std::string listen;  // host:port; port 0 picks one
  Secret secret;
  size_t max_body_bytes = 64 * 1024;
  // Re-reads the user holding `credential_id`; false when none is watched.
  std::function<bool(const std::string& credential_id)> prompt;
  // Told every delivery's result (one of the kResult* values).
  std::function<void(absl::string_view result)> on_result;
};

class AlertListener {
 public:
  // Binds and starts serving on a background thread.
  static absl::StatusOr<std::unique_ptr<AlertListener>> Start(AlertListenerOptions options);
  ~AlertListener();  // stops

  int port() const { return port_; }
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
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<bool> stopped_{false};
};

}  // namespace leafsvc::alerts

#endif  // SERVER_ALERTS_ALERT_LISTENER_H_
