// The process's shared table of watches: which streams watch which users,
// each user's change detector, and the map from Leaf credential ids to users
// (Leaf alerts name the credential, not the user). A user is read once
// however many streams watch it (through PollControl) and stops being read
// when its last watcher leaves. Limits on streams and users are enforced on
// Subscribe.
#ifndef SERVER_WATCH_REGISTRY_H_
#define SERVER_WATCH_REGISTRY_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/watch/change_detector.h"
#include "server/watch/poller.h"

namespace leafsvc::watch {

// One stream's end of a watch. The registry calls it under its lock: it must
// not call back into the registry and must not block.
class Watcher {
 public:
  virtual ~Watcher() = default;
  virtual void OnChange(const std::string& user, const Change& change) = 0;
  // The registry let go of this watcher (shutdown); no call follows.
  virtual void OnEnd(const absl::Status& status) = 0;
};

// What a Leaf alert cost (Registry::Prompt).
enum class PromptResult {
  kPrompted,           // a read of its user is coming because of it
  kCoalesced,          // nothing new: a prompted read is already pending or in
                       // flight, or the user is backing off after failed reads
  kUnknownCredential,  // no watched user holds that credential
};

struct RegistryOptions {
  int max_streams = 10000;
  int max_users = 10000;
  // Most distinct users one caller watches (0: no cap), so one caller
  // cannot take every max_users slot.
  int max_users_per_caller = 0;
  // Told each change delivered to a watcher, and the counts when they move.
  std::function<void(ChangeKind)> on_change_sent;
  std::function<void(int streams, int users)> on_counts;
};

class Registry {
 public:
  using WatchId = std::uint64_t;

  // `poller` must outlive the registry; wire its sink to OnResult.
  Registry(PollControl* poller, RegistryOptions options);
  // Waits for poller calls another thread is making on its behalf.
  ~Registry();

  // Registers `watcher` for `users` (distinct). Users already read are
  // reported to it at once (their Snapshot); the others when their first
  // read finishes. UNAVAILABLE (SHUTTING_DOWN) after Shutdown,
  // RESOURCE_EXHAUSTED beyond the limits. `caller` names who asks (its API
  // key, else its address) for max_users_per_caller.
  absl::StatusOr<WatchId> Subscribe(const std::vector<std::string>& users, Watcher* watcher,
                                    const std::string& caller = "");
  // Idempotent. When it returns, `watcher` is called no more.
  void Unsubscribe(WatchId id);

  // A read's outcome (the poller's sink).
  void OnResult(const std::string& user, const Observation& observation, Source source);

  // A Leaf alert named `credential_id`: a doorbell for its user's poll
  // (coalesced, spaced and never ahead of a backoff: see Poller::PollNow).
  PromptResult Prompt(const std::string& credential_id);

  // Ends every watch with `status` and refuses new ones.
  void Shutdown(const absl::Status& status);

  int streams() const;
  int users() const;

 private:
  struct UserEntry {
    ChangeDetector detector;
    absl::flat_hash_set<WatchId> watchers;
  };
  struct Subscription {
    Watcher* watcher;
    std::vector<std::string> users;
    std::string caller;
  };
  // A change of the poller's users, decided under mu_.
  struct PollOp {
    bool add;
    std::string user;
  };

  // Drops `id`, and queues the removal from the poller of its users that
  // nobody else watches. Under mu_.
  void Detach(WatchId id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReportCounts() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Applies poll_ops_ to the poller in the order they were decided, outside
  // mu_ (a read may finish inline and report back). One thread at a time;
  // another finding it busy leaves its ops to it.
  void ApplyPollOps() ABSL_LOCKS_EXCLUDED(mu_);
  void IndexCredential(const std::string& user, const ChangeDetector& detector)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  PollControl* const poller_;
  const RegistryOptions options_;
  mutable absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  WatchId next_id_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<WatchId, Subscription> subscriptions_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, UserEntry> users_ ABSL_GUARDED_BY(mu_);
  // caller -> user -> how many of its subscriptions watch the user.
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, int>> caller_users_
      ABSL_GUARDED_BY(mu_);
  std::deque<PollOp> poll_ops_ ABSL_GUARDED_BY(mu_);
  bool applying_ ABSL_GUARDED_BY(mu_) = false;
  // Leaf credential id -> user, from the reads.
  absl::flat_hash_map<std::string, std::string> credential_users_ ABSL_GUARDED_BY(mu_);
  // user -> the credential id indexed for it, to unindex on change.
  absl::flat_hash_map<std::string, std::string> user_credentials_ ABSL_GUARDED_BY(mu_);
};

}  // namespace leafsvc::watch

#endif  // SERVER_WATCH_REGISTRY_H_
