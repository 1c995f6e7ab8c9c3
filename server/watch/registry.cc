#include "server/watch/registry.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/errors/reasons.h"
#include "server/util/status_details.h"

namespace leafsvc::watch {

Registry::Registry(PollControl* poller, RegistryOptions options)
    : poller_(poller), options_(std::move(options)) {}

Registry::~Registry() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](Registry* r) ABSL_NO_THREAD_SAFETY_ANALYSIS { return !r->applying_; }, this));
}

void Registry::ApplyPollOps() {
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

absl::StatusOr<Registry::WatchId> Registry::Subscribe(const std::vector<std::string>& users,
                                                      Watcher* watcher, const std::string& caller) {
  WatchId id;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) {
      return MakeError(reasons::kShuttingDown,
                       "this server is shutting down; watch again (another replica will answer)");
    }
    if (static_cast<int>(subscriptions_.size()) >= options_.max_streams) {
      return MakeError(
          reasons::kTooManyWatchStreams,
          absl::StrCat("this server already serves its limit of ", options_.max_streams,
                       " watch streams (--watch_max_streams); retry later or on "
                       "another replica"));
    }
    if (options_.max_users_per_caller > 0) {
      auto mine = caller_users_.find(caller);
      int held = 0, more = static_cast<int>(users.size());
      if (mine != caller_users_.end()) {
        held = static_cast<int>(mine->second.size());
        for (const std::string& user : users) more -= mine->second.contains(user) ? 1 : 0;
      }
      if (held + more > options_.max_users_per_caller) {
        return MakeError(
            reasons::kTooManyWatchedUsersForCaller,
            absl::StrCat("this caller (its API key, else its address) already watches ", held,
                         " of at most ", options_.max_users_per_caller,
                         " users (--watch_max_users_per_caller); close streams it no longer "
                         "needs, or watch fewer users"));
      }
    }
    int new_users = 0;
    for (const std::string& user : users) new_users += users_.contains(user) ? 0 : 1;
    if (static_cast<int>(users_.size()) + new_users > options_.max_users) {
      return MakeError(reasons::kTooManyWatchedUsers,
                       absl::StrCat("this server already watches ", users_.size(), " of at most ",
                                    options_.max_users,
                                    " users (--watch_max_users); retry later or on another "
                                    "replica"));
    }
    id = ++next_id_;
    subscriptions_[id] = Subscription{watcher, users, caller};
    if (options_.max_users_per_caller > 0) {
      auto& mine = caller_users_[caller];
      for (const std::string& user : users) ++mine[user];
    }
    for (const std::string& user : users) {
      auto [it, inserted] = users_.try_emplace(user);
      it->second.watchers.insert(id);
      if (inserted) {
        // Queued under mu_, so the poller sees adds and removes of a user
        // in the order decided here (a subscribe racing the last
        // unsubscribe of the same user must end with the user polled).
        poll_ops_.push_back({true, user});
      } else if (std::optional<Change> snapshot = it->second.detector.Snapshot()) {
        watcher->OnChange(user, *snapshot);
        if (options_.on_change_sent) options_.on_change_sent(snapshot->kind);
      }
    }
    ReportCounts();
  }
  ApplyPollOps();
  return id;
}

void Registry::Detach(WatchId id) {
  auto sub = subscriptions_.find(id);
  if (sub == subscriptions_.end()) return;
  auto mine = caller_users_.find(sub->second.caller);
  if (mine != caller_users_.end()) {
    for (const std::string& user : sub->second.users) {
      auto held = mine->second.find(user);
      if (held != mine->second.end() && --held->second == 0) mine->second.erase(held);
    }
    if (mine->second.empty()) caller_users_.erase(mine);
  }
  for (const std::string& user : sub->second.users) {
    auto it = users_.find(user);
    if (it == users_.end()) continue;
    it->second.watchers.erase(id);
    if (!it->second.watchers.empty()) continue;
    users_.erase(it);
    auto indexed = user_credentials_.find(user);
    if (indexed != user_credentials_.end()) {
      credential_users_.erase(indexed->second);
      user_credentials_.erase(indexed);
    }
    poll_ops_.push_back({false, user});
  }
  subscriptions_.erase(sub);
}

void Registry::Unsubscribe(WatchId id) {
  {
    absl::MutexLock lock(&mu_);
    Detach(id);
    ReportCounts();
  }
  ApplyPollOps();
}

void Registry::IndexCredential(const std::string& user, const ChangeDetector& detector) {
  auto indexed = user_credentials_.find(user);
  const std::string id = detector.last() ? detector.last()->id : std::string();
  if (indexed != user_credentials_.end()) {
    if (indexed->second == id) return;
    credential_users_.erase(indexed->second);
    user_credentials_.erase(indexed);
  }
  if (id.empty()) return;
  credential_users_[id] = user;
  user_credentials_[user] = id;
}

void Registry::OnResult(const std::string& user, const Observation& observation, Source source) {
  absl::MutexLock lock(&mu_);
  auto it = users_.find(user);
  if (it == users_.end()) return;  // its last watcher left meanwhile
  std::optional<Change> change = it->second.detector.Observe(observation, source, absl::Now());
  IndexCredential(user, it->second.detector);
  if (!change) return;
  for (WatchId id : it->second.watchers) {
    subscriptions_.at(id).watcher->OnChange(user, *change);
    if (options_.on_change_sent) options_.on_change_sent(change->kind);
  }
}

PromptResult Registry::Prompt(const std::string& credential_id) {
  std::string user;
  {
    absl::MutexLock lock(&mu_);
    auto it = credential_users_.find(credential_id);
    if (it == credential_users_.end()) return PromptResult::kUnknownCredential;
    user = it->second;
  }
  return poller_->PollNow(user, Source::kAlert) ? PromptResult::kPrompted
                                                : PromptResult::kCoalesced;
}

void Registry::Shutdown(const absl::Status& status) {
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    std::vector<WatchId> ids;
    for (const auto& [id, sub] : subscriptions_) ids.push_back(id);
    for (WatchId id : ids) {
      Watcher* watcher = subscriptions_.at(id).watcher;
      Detach(id);
      // Under the lock: the watcher's own Unsubscribe (on its way out)
      // waits for this, so it is still alive here.
      watcher->OnEnd(status);
    }
    ReportCounts();
  }
  ApplyPollOps();
}

void Registry::ReportCounts() {
  if (options_.on_counts) {
    options_.on_counts(static_cast<int>(subscriptions_.size()), static_cast<int>(users_.size()));
  }
}

int Registry::streams() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(subscriptions_.size());
}

int Registry::users() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(users_.size());
}

}  // namespace leafsvc::watch
