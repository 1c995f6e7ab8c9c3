// Whether Leaf looks reachable, from the outcomes of real calls. It turns
// unhealthy only after failures have lasted a whole window with no success
// in between (one blip is not an outage) and healthy again on the next
// success. Reported as its own health service name, so operators can alert
// on Leaf without every replica leaving the load balancer when Leaf is down.
#ifndef SERVER_OBSERVABILITY_UPSTREAM_HEALTH_H_
#define SERVER_OBSERVABILITY_UPSTREAM_HEALTH_H_

#include <functional>
#include <optional>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace leafsvc {

class UpstreamHealth {
 public:
  // `on_change(serving)` runs (outside any lock) on every transition.
  UpstreamHealth(absl::Duration window, std::function<void(bool serving)> on_change,
                 std::function<absl::Time()> clock = nullptr);

  // One attempt's outcome: true when Leaf answered (status below 500).
  void Record(bool reachable);
  bool serving() const;

 private:
  const absl::Duration window_;
  const std::function<void(bool)> on_change_;
  const std::function<absl::Time()> clock_;
  mutable absl::Mutex mu_;
  bool serving_ ABSL_GUARDED_BY(mu_) = true;
  std::optional<absl::Time> failing_since_ ABSL_GUARDED_BY(mu_);
};

}  // namespace leafsvc

#endif  // SERVER_OBSERVABILITY_UPSTREAM_HEALTH_H_
