#include "server/fleet/reconnect_backoff.h"

#include <algorithm>
#include <cmath>

namespace leafsvc::fleet {

ReconnectBackoff::ReconnectBackoff(absl::Duration min, absl::Duration max, std::uint64_t seed)
    : min_(min), max_(std::max(min, max)), rng_(seed) {}

absl::Duration ReconnectBackoff::Next() {
  const double ceiling =
      std::min(absl::ToDoubleSeconds(min_) * std::pow(2.0, std::min(failures_, 40)),
               absl::ToDoubleSeconds(max_));
  std::uniform_real_distribution<double> jitter(ceiling / 2, ceiling);
  ++failures_;
  return absl::Seconds(jitter(rng_));
}

}  // namespace leafsvc::fleet
