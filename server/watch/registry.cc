#include "server/watch/registry.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/util/status_details.h"

namespace leafsvc::watch {
namespace {

constexpr char kReasonTooManyWatchStreams[] = "TOO_MANY_WATCH_STREAMS";
constexpr char kReasonTooManyWatchedUsers[] = "TOO_MANY_WATCHED_USERS";

absl::Status Exhausted(absl::string_view reason, std::string message) {
  StatusDetails d;
  d.reason = std::string(reason);
  return MakeStatus(absl::StatusCode::kResourceExhausted, message, d);
}

}  // namespace

Registry::Registry(PollControl* poller, RegistryOptions options)
    : poller_(poller), options_(std::move(options)) {}

absl::StatusOr<Registry::WatchId> Registry::Subscribe(const std::vector<std::string>& users,
                                                      Watcher* watcher) {
  std::vector<std::string> added;
  WatchId id;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) {
      StatusDetails d;
      d.reason = "SHUTTING_DOWN";
      return MakeStatus(absl::StatusCode::kUnavailable,
                        "this server is shutting down; watch again (another replica will answer)",
                        d);
    }
    if (static_cast<int>(subscriptions_.size()) >= options_.max_streams) {
      return Exhausted(
          kReasonTooManyWatchStreams,
          absl::StrCat("this server already serves its limit of ", options_.max_streams,
                       " watch streams (--watch_max_streams); retry later or on "
                       "another replica"));
    }
    int new_users = 0;
    for (const std::string& user : users) new_users += users_.contains(user) ? 0 : 1;
    if (static_cast<int>(users_.size()) + new_users > options_.max_users) {
      return Exhausted(kReasonTooManyWatchedUsers,
                       absl::StrCat("this server already watches ", users_.size(), " of at most ",
                                    options_.max_users,
                                    " users (--watch_max_users); retry later or on another "
                                    "replica"));
    }
    id = ++next_id_;
    subscriptions_[id] = Subscription{watcher, users};
    for (const std::string& user : users) {
      auto [it, inserted] = users_.try_emplace(user);
      it->second.watchers.insert(id);
      if (inserted) {
        added.push_back(user);
      } else if (std::optional<Change> snapshot = it->second.detector.Snapshot()) {
        watcher->OnChange(user, *snapshot);
        if (options_.on_change_sent) options_.on_change_sent(snapshot->kind);
      }
    }
    ReportCounts();
  }
  // Outside the lock: a read may finish inline and report back.
  for (const std::string& user : added) poller_->Add(user);
  return id;
}

std::vector<std::string> Registry::Detach(WatchId id) {
  std::vector<std::string> orphaned;
  auto sub = subscriptions_.find(id);
  if (sub == subscriptions_.end()) return orphaned;
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
    orphaned.push_back(user);
  }
  subscriptions_.erase(sub);
  return orphaned;
}

void Registry::Unsubscribe(WatchId id) {
  std::vector<std::string> orphaned;
  {
    absl::MutexLock lock(&mu_);
    orphaned = Detach(id);
    ReportCounts();
  }
  for (const std::string& user : orphaned) poller_->Remove(user);
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

bool Registry::Prompt(const std::string& credential_id) {
  std::string user;
  {
    absl::MutexLock lock(&mu_);
    auto it = credential_users_.find(credential_id);
    if (it == credential_users_.end()) return false;
    user = it->second;
  }
  poller_->PollNow(user, Source::kAlert);
  return true;
}

void Registry::Shutdown(const absl::Status& status) {
  std::vector<std::string> orphaned;
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    std::vector<WatchId> ids;
    for (const auto& [id, sub] : subscriptions_) ids.push_back(id);
    for (WatchId id : ids) {
      Watcher* watcher = subscriptions_.at(id).watcher;
      std::vector<std::string> users = Detach(id);
      orphaned.insert(orphaned.end(), users.begin(), users.end());
      // Under the lock: the watcher's own Unsubscribe (on its way out)
      // waits for this, so it is still alive here.
      watcher->OnEnd(status);
    }
    ReportCounts();
  }
  for (const std::string& user : orphaned) poller_->Remove(user);
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
