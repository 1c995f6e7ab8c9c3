#include "server/observability/upstream_health.h"

#include <utility>

#include "absl/time/clock.h"

namespace leafsvc {

UpstreamHealth::UpstreamHealth(absl::Duration window, std::function<void(bool)> on_change,
                               std::function<absl::Time()> clock)
    : window_(window),
      on_change_(std::move(on_change)),
      clock_(clock ? std::move(clock) : [] { return absl::Now(); }) {}

void UpstreamHealth::Record(bool reachable) {
  std::optional<bool> changed;
  {
    absl::MutexLock lock(&mu_);
    if (reachable) {
      failing_since_.reset();
      if (!serving_) changed = serving_ = true;
    } else {
      const absl::Time now = clock_();
      if (!failing_since_.has_value()) failing_since_ = now;
      if (serving_ && now - *failing_since_ >= window_) {
        serving_ = false;
        changed = false;
      }
    }
  }
  if (changed.has_value() && on_change_) on_change_(*changed);
}

bool UpstreamHealth::serving() const {
  absl::MutexLock lock(&mu_);
  return serving_;
}

}  // namespace leafsvc
