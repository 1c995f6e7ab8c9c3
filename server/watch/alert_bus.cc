#include "server/watch/alert_bus.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace leafsvc::watch {

LocalAlertBus::~LocalAlertBus() {
  absl::MutexLock lock(&mu_);
  handlers_.clear();
  mu_.Await(absl::Condition(
      +[](LocalAlertBus* b) ABSL_NO_THREAD_SAFETY_ANALYSIS { return b->running_.empty(); }, this));
}

void LocalAlertBus::Publish(CredentialAlert alert) {
  std::vector<std::pair<SubscriptionId, std::shared_ptr<const Handler>>> targets;
  {
    absl::MutexLock lock(&mu_);
    targets.assign(handlers_.begin(), handlers_.end());
    std::sort(targets.begin(), targets.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [id, handler] : targets) ++running_[id];
  }
  // Outside the lock: a handler may publish, subscribe or take its time
  // without holding up the bus for others.
  for (const auto& [id, handler] : targets) {
    (*handler)(alert);
    absl::MutexLock lock(&mu_);
    auto it = running_.find(id);
    if (--it->second == 0) running_.erase(it);
  }
}

AlertBus::SubscriptionId LocalAlertBus::Subscribe(Handler handler) {
  absl::MutexLock lock(&mu_);
  const SubscriptionId id = ++next_id_;
  handlers_[id] = std::make_shared<const Handler>(std::move(handler));
  return id;
}

void LocalAlertBus::Unsubscribe(SubscriptionId id) {
  struct Args {
    LocalAlertBus* bus;
    SubscriptionId id;
  } args{this, id};
  absl::MutexLock lock(&mu_);
  handlers_.erase(id);
  mu_.Await(absl::Condition(
      +[](Args* a) ABSL_NO_THREAD_SAFETY_ANALYSIS { return !a->bus->running_.contains(a->id); },
      &args));
}

}  // namespace leafsvc::watch
