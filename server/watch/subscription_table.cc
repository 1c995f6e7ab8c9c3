#include "server/watch/subscription_table.h"

#include "absl/strings/str_cat.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"

namespace leafsvc::watch {

absl::StatusOr<SubscriptionTable::Added> SubscriptionTable::Add(
    const std::vector<std::string>& users, const std::string& caller) {
  if (static_cast<int>(subscriptions_.size()) >= limits_.max_streams) {
    return MakeError(reasons::kTooManyWatchStreams,
                     absl::StrCat("this server already serves its limit of ", limits_.max_streams,
                                  " watch streams (--watch_max_streams); retry later or on "
                                  "another replica"));
  }
  if (limits_.max_users_per_caller > 0) {
    auto mine = caller_users_.find(caller);
    int held = 0, more = static_cast<int>(users.size());
    if (mine != caller_users_.end()) {
      held = static_cast<int>(mine->second.size());
      for (const std::string& user : users) more -= mine->second.contains(user) ? 1 : 0;
    }
    if (held + more > limits_.max_users_per_caller) {
      return MakeError(
          reasons::kTooManyWatchedUsersForCaller,
          absl::StrCat("this caller (its API key, else its address) already watches ", held,
                       " of at most ", limits_.max_users_per_caller,
                       " users (--watch_max_users_per_caller); close streams it no longer "
                       "needs, or watch fewer users"));
    }
  }
  int new_users = 0;
  for (const std::string& user : users) new_users += users_.contains(user) ? 0 : 1;
  if (static_cast<int>(users_.size()) + new_users > limits_.max_users) {
    return MakeError(reasons::kTooManyWatchedUsers,
                     absl::StrCat("this server already watches ", users_.size(), " of at most ",
                                  limits_.max_users,
                                  " users (--watch_max_users); retry later or on another "
                                  "replica"));
  }
  Added added;
  added.id = ++next_id_;
  subscriptions_[added.id] = Subscription{users, caller};
  if (limits_.max_users_per_caller > 0) {
    auto& mine = caller_users_[caller];
    for (const std::string& user : users) ++mine[user];
  }
  for (const std::string& user : users) {
    auto [it, inserted] = users_.try_emplace(user);
    it->second.watchers.insert(added.id);
    if (inserted) added.started.push_back(user);
  }
  return added;
}

std::vector<std::string> SubscriptionTable::Remove(WatchId id) {
  std::vector<std::string> stopped;
  auto sub = subscriptions_.find(id);
  if (sub == subscriptions_.end()) return stopped;
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
    Unindex(user, it->second);
    users_.erase(it);
    stopped.push_back(user);
  }
  subscriptions_.erase(sub);
  return stopped;
}

std::vector<WatchId> SubscriptionTable::ids() const {
  std::vector<WatchId> ids;
  ids.reserve(subscriptions_.size());
  for (const auto& [id, sub] : subscriptions_) ids.push_back(id);
  return ids;
}

const absl::flat_hash_set<WatchId>& SubscriptionTable::WatchersOf(const std::string& user) const {
  static const absl::flat_hash_set<WatchId>* const kNone = new absl::flat_hash_set<WatchId>();
  auto it = users_.find(user);
  return it == users_.end() ? *kNone : it->second.watchers;
}

void SubscriptionTable::Unindex(const std::string& user, WatchedUser& watched) {
  if (watched.credential_id.empty()) return;
  auto indexed = credential_users_.find(watched.credential_id);
  // (Another user may have taken the id since.)
  if (indexed != credential_users_.end() && indexed->second == user) {
    credential_users_.erase(indexed);
  }
  watched.credential_id.clear();
}

void SubscriptionTable::IndexCredential(const std::string& user, const std::string& credential_id) {
  auto it = users_.find(user);
  if (it == users_.end() || it->second.credential_id == credential_id) return;
  Unindex(user, it->second);
  if (credential_id.empty()) return;
  credential_users_[credential_id] = user;
  it->second.credential_id = credential_id;
}

std::optional<std::string> SubscriptionTable::UserOfCredential(
    const std::string& credential_id) const {
  auto it = credential_users_.find(credential_id);
  if (it == credential_users_.end()) return std::nullopt;
  return it->second;
}

}  // namespace leafsvc::watch
