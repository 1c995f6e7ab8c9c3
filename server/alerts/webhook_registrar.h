// Makes sure Leaf delivers the credential alerts to this service: at start
// it lists the API owner's webhooks (GET {alerts}/webhooks) and registers one
// for each of credentialsUnauthenticated and credentialsLimitedPermission
// that no webhook carries yet (POST {alerts}/webhooks). Idempotent: a
// webhook already carrying an event is left alone (Leaf allows one per event
// and webhooks cannot be updated), and Leaf's eventRegisteredTwice (another
// replica registered first) counts as done. Failures are retried with
// backoff in the background; the service serves meanwhile, polling only.
#ifndef SERVER_ALERTS_WEBHOOK_REGISTRAR_H_
#define SERVER_ALERTS_WEBHOOK_REGISTRAR_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/http/http_client.h"
#include "server/leaf/token_source.h"
#include "server/platform/scheduler.h"
#include "server/secrets/secret.h"

namespace leafsvc::alerts {

// The events this service asks Leaf for.
inline constexpr const char* kCredentialEvents[] = {"credentialsUnauthenticated",
                                                    "credentialsLimitedPermission"};

struct WebhookRegistrarOptions {
  // Leaf's gateway, e.g. https://api.withleaf.io (the alerts service is
  // under /services/alerts/api/alerts).
  std::string leaf_api_url;
  // Where Leaf is to POST alerts (--alerts_public_url).
  std::string public_url;
  Secret secret;
  std::string name = "agleader-credentials-watch";
  absl::Duration timeout = absl::Seconds(10);
  absl::Duration initial_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Minutes(5);
  // Told the outcome of each attempt (OK once registered).
  std::function<void(const absl::Status&)> on_attempt;
};

class WebhookRegistrar {
 public:
  // All three must outlive the registrar.
  WebhookRegistrar(http::HttpClient* http, leaf::TokenSource* tokens, Scheduler* scheduler,
                   WebhookRegistrarOptions options);
  // Stops, then waits for a callback already running in the registrar; any
  // callback that fires later (a login still in flight, a transfer the
  // transport completes at its own shutdown) finds it gone and does nothing.
  // Not to be called from on_attempt.
  ~WebhookRegistrar();

  // Starts the first attempt (returns at once).
  void Start();
  // No attempt starts after this returns; the retry timer and the transfer
  // in flight are cancelled.
  void Stop();
  bool done() const { return done_.load(); }

  // The events of `list_body` (GET /webhooks) that no webhook carries, and
  // warnings for events whose webhook points elsewhere. Exposed for tests.
  static absl::StatusOr<std::vector<std::string>> MissingEvents(
      absl::string_view list_body, absl::string_view public_url,
      std::vector<std::string>* elsewhere);

 private:
  // What callbacks hold instead of `this` (token source, transport and
  // scheduler may all call back after the registrar is gone).
  struct Life;
  // `f(registrar, args...)` if the registrar still exists, else nothing.
  template <typename F>
  auto Guarded(F f);

  void Attempt();
  void Finish(const absl::Status& status);
  void List(const Secret& token);
  void OnListed(const Secret& token, absl::StatusOr<http::HttpResponse> r);
  void Create(const Secret& token, const std::vector<std::string>& events);
  void OnCreated(const std::string& joined, absl::StatusOr<http::HttpResponse> r);
  std::string WebhooksUrl() const;

  http::HttpClient* const http_;
  leaf::TokenSource* const tokens_;
  Scheduler* const scheduler_;
  const WebhookRegistrarOptions options_;
  std::atomic<bool> done_{false};
  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  int failures_ ABSL_GUARDED_BY(mu_) = 0;
  Scheduler::TaskId retry_ ABSL_GUARDED_BY(mu_) = 0;
  bool retry_set_ ABSL_GUARDED_BY(mu_) = false;
  http::TransferId transfer_ ABSL_GUARDED_BY(mu_) = 0;
  bool transfer_set_ ABSL_GUARDED_BY(mu_) = false;
  const std::shared_ptr<Life> life_;
};

}  // namespace leafsvc::alerts

#endif  // SERVER_ALERTS_WEBHOOK_REGISTRAR_H_
