// Keeps this replica's liveness key alive (PollLease::Heartbeat) every
// `period` on the scheduler, so that the fleet takes over this replica's
// poll leases within `ttl` of its death, however long its leases were.
#ifndef SERVER_FLEET_REPLICA_HEARTBEAT_H_
#define SERVER_FLEET_REPLICA_HEARTBEAT_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/fleet/poll_lease.h"
#include "server/platform/scheduler.h"

namespace leafsvc::fleet {

class ReplicaHeartbeat {
 public:
  // Both must outlive it. Beats at once, then every `period` (< ttl).
  ReplicaHeartbeat(Scheduler* scheduler, PollLease* lease, absl::Duration period = absl::Seconds(2),
                   absl::Duration ttl = absl::Seconds(6));
  ~ReplicaHeartbeat();  // Stop()

  ReplicaHeartbeat(const ReplicaHeartbeat&) = delete;
  ReplicaHeartbeat& operator=(const ReplicaHeartbeat&) = delete;

  void Start();
  // No beat after it returns (a beat running on the scheduler has returned).
  void Stop();

 private:
  void Beat();

  Scheduler* const scheduler_;
  PollLease* const lease_;
  const absl::Duration period_;
  const absl::Duration ttl_;
  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  Scheduler::TaskId next_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace leafsvc::fleet

#endif  // SERVER_FLEET_REPLICA_HEARTBEAT_H_
