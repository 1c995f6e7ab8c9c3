#include "server/fleet/replica_heartbeat.h"

#include "absl/time/clock.h"

namespace leafsvc::fleet {

ReplicaHeartbeat::ReplicaHeartbeat(Scheduler* scheduler, PollLease* lease, absl::Duration period,
                                   absl::Duration ttl)
    : scheduler_(scheduler), lease_(lease), period_(period), ttl_(ttl) {}

ReplicaHeartbeat::~ReplicaHeartbeat() { Stop(); }

void ReplicaHeartbeat::Start() { Beat(); }

void ReplicaHeartbeat::Beat() {
  lease_->Heartbeat(ttl_);
  absl::MutexLock lock(&mu_);
  if (stopped_) return;
  next_ = scheduler_->RunAt(absl::Now() + period_, [this] { Beat(); });
}

void ReplicaHeartbeat::Stop() {
  Scheduler::TaskId next;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    next = next_;
  }
  // Waits for a beat running now; it finds stopped_ and does not re-arm.
  if (next != 0) scheduler_->Cancel(next);
}

}  // namespace leafsvc::fleet
