// "Credential X changed", as Leaf's alerts say it, carried from whoever
// receives alerts (the alert listener) to whoever acts on them (the watch
// hub). The listener knows nothing of watches: it publishes; the hub
// subscribes. LocalAlertBus is the in-process bus; a bus shared by replicas
// (Redis, issue 21) implements the same interface.
#ifndef SERVER_WATCH_ALERT_BUS_H_
#define SERVER_WATCH_ALERT_BUS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace leafsvc::watch {

// One signed, well-formed alert, as Leaf sent it (the fields the listener
// could read; empty when absent).
struct CredentialAlert {
  std::string credential_id;    // `credentialId`: never empty
  std::string provider;         // `provider`: the provider's name in Leaf's alerts
  std::string credential_type;  // `credential`: the kind of credentials
  std::string event;            // `type`, e.g. "credentialsUnauthenticated"
  std::string status;           // `status`, e.g. "UNAUTHENTICATED"
  // Not from Leaf: set when a connect link attached new credentials
  // (credential_id is then theirs, unknown to the watchers so far), so the
  // user is read at once on every replica (CHANGE_SOURCE_CONNECT_LINK).
  std::string leaf_user_id;
};

class AlertBus {
 public:
  using Handler = std::function<void(const CredentialAlert&)>;
  using SubscriptionId = std::uint64_t;

  virtual ~AlertBus() = default;
  // Hands `alert` to the subscribers. Returns nothing and promises nothing
  // about when they run: a bus may deliver later, on another thread or in
  // another process, so a publisher never depends on (or waits for) what
  // the subscribers make of it.
  virtual void Publish(CredentialAlert alert) = 0;
  virtual SubscriptionId Subscribe(Handler handler) = 0;
  // Idempotent. When it returns, the handler is called no more (a call in
  // progress on another thread has returned). Not from inside the handler.
  virtual void Unsubscribe(SubscriptionId id) = 0;
};

// In-process: Publish runs the handlers on the publisher's thread, in the
// order they subscribed. A handler must therefore be quick (the hub's only
// rings a poll, which starts a read and does not wait for it).
class LocalAlertBus final : public AlertBus {
 public:
  LocalAlertBus() = default;
  ~LocalAlertBus() override;  // waits for handler calls in progress

  void Publish(CredentialAlert alert) override;
  SubscriptionId Subscribe(Handler handler) override;
  void Unsubscribe(SubscriptionId id) override;

 private:
  absl::Mutex mu_;
  SubscriptionId next_id_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<SubscriptionId, std::shared_ptr<const Handler>> handlers_
      ABSL_GUARDED_BY(mu_);
  // Handler calls in progress, per subscription.
  absl::flat_hash_map<SubscriptionId, int> running_ ABSL_GUARDED_BY(mu_);
};

}  // namespace leafsvc::watch

#endif  // SERVER_WATCH_ALERT_BUS_H_
