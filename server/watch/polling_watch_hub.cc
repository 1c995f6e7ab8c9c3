#include "server/watch/polling_watch_hub.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"
#include "server/observability/log.h"

namespace leafsvc::watch {

absl::string_view PromptResultName(PromptResult result) {
  switch (result) {
    case PromptResult::kPrompted:
      return "prompted";
    case PromptResult::kCoalesced:
      return "coalesced";
    case PromptResult::kUnknownCredential:
      return "unknown_credential";
  }
  return "unknown_credential";
}

PollingWatchHub::PollingWatchHub(PollControl* poller, HubOptions options)
    : poller_(poller), options_(options), table_(options.limits) {
  if (options_.alerts != nullptr) {
    bus_subscription_ =
        options_.alerts->Subscribe([this](const CredentialAlert& alert) { OnAlert(alert); });
  }
}

PollingWatchHub::~PollingWatchHub() {
  if (options_.alerts != nullptr) options_.alerts->Unsubscribe(bus_subscription_);
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](PollingWatchHub* h)
           ABSL_NO_THREAD_SAFETY_ANALYSIS { return !h->applying_ && h->pins_.empty(); },
      this));
}

void PollingWatchHub::Pin(WatchId id, Watcher* watcher, std::optional<absl::Status> end,
                          std::vector<Delivery>& out) {
  pins_[id].push_back(std::this_thread::get_id());
  out.push_back(Delivery{id, watcher, std::move(end)});
}

void PollingWatchHub::Run(std::vector<Delivery>& deliveries) {
  const std::thread::id self = std::this_thread::get_id();
  for (Delivery& d : deliveries) {
    bool call;
    {
      // Not called once its Unsubscribe ran: from an earlier call on this
      // very thread it did not wait for this pin, and the watcher may be
      // gone. A Deliver is also dropped once Shutdown let go of the watcher
      // (its OnEnd ends the stream).
      absl::MutexLock lock(&mu_);
      call = !unsubscribed_.contains(d.id) && (d.end || watchers_.contains(d.id));
    }
    if (call && d.end) {
      d.watcher->OnEnd(*d.end);
    } else if (call) {
      d.watcher->Deliver();
    }
    absl::MutexLock lock(&mu_);
    auto it = pins_.find(d.id);
    it->second.erase(std::find(it->second.begin(), it->second.end(), self));
    if (it->second.empty()) {
      pins_.erase(it);
      unsubscribed_.erase(d.id);
    }
  }
}

void PollingWatchHub::ApplyPollOps() {
  {
    absl::MutexLock lock(&mu_);
    if (applying_) return;
    applying_ = true;
  }
  for (;;) {
    PollOp op;
    {
      absl::MutexLock lock(&mu_);
      if (poll_ops_.empty()) {
        applying_ = false;
        return;
      }
      op = std::move(poll_ops_.front());
      poll_ops_.pop_front();
    }
    if (op.add) {
      poller_->Add(op.user);
    } else {
      poller_->Remove(op.user);
    }
  }
}

absl::StatusOr<WatchId> PollingWatchHub::Subscribe(const std::vector<std::string>& users,
                                                   Watcher* watcher, const std::string& caller) {
  WatchId id;
  std::vector<Delivery> deliveries;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) {
      return MakeError(reasons::kShuttingDown,
                       "this server is shutting down; watch again (another replica will answer)");
    }
    absl::StatusOr<SubscriptionTable::Added> added = table_.Add(users, caller);
    if (!added.ok()) return added.status();
    id = added->id;
    watchers_[id] = watcher;
    // Queued under mu_, so the poller sees adds and removes of a user in the
    // order decided here (a subscribe racing the last unsubscribe of the
    // same user must end with the user polled).
    for (const std::string& user : added->started) {
      detectors_.try_emplace(user);
      poll_ops_.push_back({true, user});
    }
    bool queued = false;
    for (const std::string& user : users) {
      std::optional<Change> snapshot = detectors_[user].Snapshot();
      if (!snapshot) continue;
      watcher->Enqueue(user, *snapshot);
      if (options_.observer != nullptr) options_.observer->OnChangeSent(snapshot->kind);
      queued = true;
    }
    if (queued) Pin(id, watcher, std::nullopt, deliveries);
    ReportCounts();
  }
  Run(deliveries);
  ApplyPollOps();
  return id;
}

void PollingWatchHub::Detach(WatchId id) {
  watchers_.erase(id);
  for (const std::string& user : table_.Remove(id)) {
    detectors_.erase(user);
    poll_ops_.push_back({false, user});
  }
}

void PollingWatchHub::Unsubscribe(WatchId id) {
  struct Args {
    PollingWatchHub* hub;
    WatchId id;
    std::thread::id self;
  } args{this, id, std::this_thread::get_id()};
  {
    absl::MutexLock lock(&mu_);
    Detach(id);
    ReportCounts();
    // Calls to the watcher decided before it left and not started yet are
    // dropped; one running on another thread returns before the watcher
    // may go.
    if (pins_.contains(id)) unsubscribed_.insert(id);
    mu_.Await(absl::Condition(
        +[](Args* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
          auto it = a->hub->pins_.find(a->id);
          return it == a->hub->pins_.end() ||
                 std::all_of(it->second.begin(), it->second.end(),
                             [a](std::thread::id t) { return t == a->self; });
        },
        &args));
  }
  ApplyPollOps();
}

void PollingWatchHub::OnResult(const std::string& user, const Observation& observation,
                               Source source) {
  if (options_.observer != nullptr) options_.observer->OnPoll(observation.kind, source);
  std::vector<Delivery> deliveries;
  {
    absl::MutexLock lock(&mu_);
    auto it = detectors_.find(user);
    if (it == detectors_.end()) return;  // its last watcher left meanwhile
    std::optional<Change> change = it->second.Observe(observation, source, absl::Now());
    table_.IndexCredential(user, it->second.last() ? it->second.last()->id : "");
    if (!change) return;
    for (WatchId id : table_.WatchersOf(user)) {
      Watcher* watcher = watchers_.at(id);
      watcher->Enqueue(user, *change);
      if (options_.observer != nullptr) options_.observer->OnChangeSent(change->kind);
      Pin(id, watcher, std::nullopt, deliveries);
    }
  }
  Run(deliveries);
}

PromptResult PollingWatchHub::Prompt(const std::string& credential_id) {
  std::optional<std::string> user;
  {
    absl::MutexLock lock(&mu_);
    user = table_.UserOfCredential(credential_id);
  }
  if (!user) return PromptResult::kUnknownCredential;
  return poller_->PollNow(*user, Source::kAlert) ? PromptResult::kPrompted
                                                 : PromptResult::kCoalesced;
}

void PollingWatchHub::OnAlert(const CredentialAlert& alert) {
  const PromptResult result = Prompt(alert.credential_id);
  if (options_.observer != nullptr) options_.observer->OnAlert(result);
  // Replays do not log: a coalesced alert is a duplicate of one already
  // logged.
  if (result != PromptResult::kCoalesced) {
    Log(LogLevel::kInfo, "Leaf alert received",
        {{"type", alert.event},
         {"status", alert.status},
         {"watched", result == PromptResult::kPrompted}});
  }
}

void PollingWatchHub::Shutdown(const absl::Status& status) {
  std::vector<Delivery> deliveries;
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    for (WatchId id : table_.ids()) {
      Watcher* watcher = watchers_.at(id);
      Detach(id);
      // Pinned: the watcher's own Unsubscribe (on its way out) waits for
      // its OnEnd, so it is still alive when it runs.
      Pin(id, watcher, status, deliveries);
    }
    ReportCounts();
  }
  Run(deliveries);
  ApplyPollOps();
}

void PollingWatchHub::ReportCounts() {
  if (options_.observer != nullptr) options_.observer->OnCounts(table_.streams(), table_.users());
}

int PollingWatchHub::streams() const {
  absl::MutexLock lock(&mu_);
  return table_.streams();
}

int PollingWatchHub::users() const {
  absl::MutexLock lock(&mu_);
  return table_.users();
}

}  // namespace leafsvc::watch
