// One poll per user for the fleet (issue 21, item 3): wraps the poller's
// Leaf read (a Poller::Fetch) so that only the replica holding a user's
// lease (poll_lease.h) reads Leaf; the others read the shared state in
// Redis (shared_watch_state.h) and cost Leaf nothing.
//
// One fetch of `user`:
// 1. Acquire (or renew) the lease for lease_ttl().
// 2. Holder: the inner fetch reads Leaf. kNotRead passes through untouched
//    (nothing learnt). Otherwise the observation is published, and handed
//    on with version, position and known_since set. A stale publish (a
//    newer lease was granted meanwhile: another replica reads and publishes
//    the user now) hands on kNotRead with a short RetryInfo: an observation
//    older than the one published must not reach the watchers.
// 3. Not the holder: the stored state (no Leaf request); none stored yet:
//    kNotRead with RetryInfo not_stored_retry, so the poller asks again.
// Redis failing at any step (down, slow, a bad reply) falls back to the
// inner fetch alone (version 0): a read is never lost to Redis. The Redis
// client being destroyed (CANCELLED) ends the fetch with kNotRead.
//
// Cancel stops the stage in progress (the inner read is cancelled; a Redis
// command's answer is dropped and nothing further starts); done runs
// exactly once, with a CANCELLED error unless the stage already had an
// answer. done may run on the Redis client's loop thread: what it calls
// must be quick and must not block.
#ifndef SERVER_FLEET_FLEET_FETCH_H_
#define SERVER_FLEET_FLEET_FETCH_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "server/fleet/poll_lease.h"
#include "server/fleet/shared_watch_state.h"
#include "server/watch/poller.h"

namespace leafsvc::fleet {

struct FleetFetchOptions {
  // How long a lease lasts from each read (the holder renews it at every
  // read, so more than the time between two reads of a user plus a read's
  // own time). Empty: 2 minutes.
  std::function<absl::Duration()> lease_ttl;
  // RetryInfo of kNotRead when nothing is stored yet.
  absl::Duration not_stored_retry = absl::Seconds(1);
  // RetryInfo of kNotRead after a stale publish.
  absl::Duration stale_retry = absl::Milliseconds(200);
  // The clock of published observations (tests may fix it).
  std::function<absl::Time()> now;
  // Told where each read's answer came from (metrics): "leaf" (this replica
  // held the lease), "redis" (another did: the shared state) or "alone"
  // (Redis failed: Leaf, unshared). Any thread; quick.
  std::function<void(absl::string_view from)> on_read;
};

class FleetFetch {
 public:
  // `lease` and `state` must outlive every fetch in flight (destroy the
  // Redis client, which completes its commands, before them).
  FleetFetch(watch::Poller::Fetch inner, PollLease* lease, SharedWatchState* state,
             FleetFetchOptions options = {});

  std::shared_ptr<leaf::Cancellable> Fetch(const std::string& user, watch::Source source,
                                           std::function<void(watch::Observation)> done);
  // Fetch, as the poller's Fetch (valid after this object is gone).
  watch::Poller::Fetch AsFetch() const;

  // Counters (for metrics): reads this replica sent to Leaf (the inner
  // fetch, fallbacks included), fetches answered from Redis's shared state,
  // and fetches that fell back to Leaf alone because Redis failed.
  std::uint64_t leaf_reads() const;
  std::uint64_t shared_reads() const;
  std::uint64_t fallbacks() const;

  struct Core;
  class Call;

 private:
  std::shared_ptr<Core> core_;
};

// The poller's control with the lease in mind: Remove also gives up this
// replica's lease on the user, so another replica still watching it takes
// over at its next read instead of waiting for the TTL.
class FleetPollControl : public watch::PollControl {
 public:
  // Both must outlive this.
  FleetPollControl(watch::PollControl* inner, PollLease* lease) : inner_(inner), lease_(lease) {}

  void Add(const std::string& user) override { inner_->Add(user); }
  void Remove(const std::string& user) override;
  bool PollNow(const std::string& user, watch::Source source) override {
    return inner_->PollNow(user, source);
  }

 private:
  watch::PollControl* const inner_;
  PollLease* const lease_;
};

}  // namespace leafsvc::fleet

#endif  // SERVER_FLEET_FLEET_FETCH_H_
