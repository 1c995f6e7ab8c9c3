// Which replica of the fleet reads a watched user from Leaf (issue 21, item
// 3): a lease per user in Redis, `agleader:watch:{<fleet>}:lease:<user>`
// holding the holder's replica id with a TTL. Acquire takes the lease when
// it is free or already ours (renewing it: the holder acquires before each
// read) and increments the user's fence, `...:fence:<user>`, at every grant:
// a write carrying an older fence than the latest grant comes from a holder
// that lost the lease meanwhile and is refused (shared_watch_state.h).
// Release gives the lease up, only if it is still ours.
//
// Liveness: a replica that calls Heartbeat keeps `...:alive:<replica>` alive
// (replica_heartbeat.h does it every few seconds). Once it has, its Acquire
// also takes a lease whose holder's alive key is gone: a replica killed
// (SIGKILL: nothing released) hands its users over within the heartbeat's
// TTL, not the lease's (two poll intervals, which may be long), and an
// alert about one of them is read at once by the replica it reaches. A
// grant renews the grantee's alive key too (a heartbeat may be lost, e.g.
// the first one, sent before the connection was up): a live holder is
// never taken for dead.
//
// Thread-safe; callbacks run on the Redis client's loop thread (or inline
// with INVALID_ARGUMENT for bad input). The client must outlive the lease.
#ifndef SERVER_FLEET_POLL_LEASE_H_
#define SERVER_FLEET_POLL_LEASE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/fleet/redis_client.h"
#include "server/fleet/redis_script.h"

namespace leafsvc::fleet {

// The keys of one fleet's shared watch state (one hash tag: one cluster
// slot, as the budget's keys).
std::string WatchKeyPrefix(absl::string_view fleet_name);  // "agleader:watch:{<name>}:"

class PollLease {
 public:
  // The fence of the grant (>= 1), or 0 when another replica holds it.
  using AcquireDone = std::function<void(absl::StatusOr<std::uint64_t>)>;
  // True when the lease was ours and is now free.
  using ReleaseDone = std::function<void(absl::StatusOr<bool>)>;

  // `fleet_name` must be non-empty without braces, `replica_id` non-empty
  // and unique in the fleet; otherwise every call fails with
  // INVALID_ARGUMENT.
  PollLease(RedisClient* client, std::string fleet_name, std::string replica_id);

  // Takes or renews the lease on `user` for `ttl` (at least 1 ms).
  void Acquire(const std::string& user, absl::Duration ttl, AcquireDone done);
  // Frees the lease on `user` if this replica holds it. done may be empty.
  void Release(const std::string& user, ReleaseDone done = nullptr);
  // Says this replica is alive for `ttl` (fire and forget); from the first
  // call on, Acquire takes over leases of replicas that stopped saying so,
  // and each grant says this replica is alive for `ttl` too.
  void Heartbeat(absl::Duration ttl);

  const std::string& replica_id() const { return replica_id_; }
  // The scripts (for docs and tests).
  static const char* AcquireScript();
  static const char* ReleaseScript();

 private:
  absl::Status Check(const std::string& user) const;

  RedisClient* const client_;
  const std::string prefix_;
  const std::string replica_id_;
  const absl::Status valid_;
  // The alive key's ttl of the last Heartbeat; 0: liveness off.
  std::atomic<std::int64_t> alive_ttl_ms_{0};
  RedisScript acquire_;
  RedisScript release_;
};

}  // namespace leafsvc::fleet

#endif  // SERVER_FLEET_POLL_LEASE_H_
