// Who watches which users: the subscriptions, their limits (streams, users,
// users per caller) and the Leaf credential id -> user index (alerts name
// the credential, not the user). A plain data structure: no Leaf, no gRPC,
// no callbacks and no lock of its own (the hub holds one around it). It
// answers with decisions: which users start being watched (read them), which
// nobody watches any more (stop reading them).
#ifndef SERVER_WATCH_SUBSCRIPTION_TABLE_H_
#define SERVER_WATCH_SUBSCRIPTION_TABLE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"

namespace leafsvc::watch {

using WatchId = std::uint64_t;

struct WatchLimits {
  int max_streams = 10000;
  int max_users = 10000;
  // Most distinct users one caller watches (0: no cap), so one caller
  // cannot take every max_users slot.
  int max_users_per_caller = 0;
};

class SubscriptionTable {
 public:
  explicit SubscriptionTable(WatchLimits limits) : limits_(limits) {}

  struct Added {
    WatchId id = 0;
    std::vector<std::string> started;  // users nobody watched before: read them
  };
  // Admits a subscription of `caller` (its API key, else its address) to
  // `users` (distinct), or RESOURCE_EXHAUSTED with the reason of the limit
  // it would pass (TOO_MANY_WATCH_STREAMS, TOO_MANY_WATCHED_USERS_FOR_CALLER,
  // TOO_MANY_WATCHED_USERS), changing nothing.
  absl::StatusOr<Added> Add(const std::vector<std::string>& users, const std::string& caller);
  // Drops `id` (unknown ids: nothing); returns the users nobody watches any
  // more (stop reading them), whose credential ids are unindexed.
  std::vector<std::string> Remove(WatchId id);

  bool Contains(WatchId id) const { return subscriptions_.contains(id); }
  std::vector<WatchId> ids() const;
  // The subscriptions watching `user` (empty if none).
  const absl::flat_hash_set<WatchId>& WatchersOf(const std::string& user) const;
  bool Watched(const std::string& user) const { return users_.contains(user); }

  // `user`'s last read returned `credential_id` (empty: none). Ignored for
  // users nobody watches.
  void IndexCredential(const std::string& user, const std::string& credential_id);
  // The watched user whose last read returned `credential_id`.
  std::optional<std::string> UserOfCredential(const std::string& credential_id) const;

  int streams() const { return static_cast<int>(subscriptions_.size()); }
  int users() const { return static_cast<int>(users_.size()); }

 private:
  struct Subscription {
    std::vector<std::string> users;
    std::string caller;
  };

  // A watched user: its subscriptions, and the credential id its last read
  // returned (empty: none), indexed in credential_users_.
  struct WatchedUser {
    absl::flat_hash_set<WatchId> watchers;
    std::string credential_id;
  };
  // Drops `watched`'s credential id from the index.
  void Unindex(const std::string& user, WatchedUser& watched);

  const WatchLimits limits_;
  WatchId next_id_ = 0;
  absl::flat_hash_map<WatchId, Subscription> subscriptions_;
  absl::flat_hash_map<std::string, WatchedUser> users_;
  // caller -> user -> how many of its subscriptions watch the user.
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, int>> caller_users_;
  // Leaf credential id -> user (the way back is WatchedUser::credential_id).
  absl::flat_hash_map<std::string, std::string> credential_users_;
};

}  // namespace leafsvc::watch

#endif  // SERVER_WATCH_SUBSCRIPTION_TABLE_H_
