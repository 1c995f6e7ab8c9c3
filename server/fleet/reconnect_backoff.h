// The delay before each reconnect attempt: min * 2^n capped at max, drawn
// at random between half and all of it, so that replicas that lost Redis
// together do not come back in lockstep. Not thread-safe (one per loop).
#ifndef SERVER_FLEET_RECONNECT_BACKOFF_H_
#define SERVER_FLEET_RECONNECT_BACKOFF_H_

#include <cstdint>
#include <random>

#include "absl/time/time.h"

namespace leafsvc::fleet {

class ReconnectBackoff {
 public:
  ReconnectBackoff(absl::Duration min, absl::Duration max, std::uint64_t seed);

  // The delay before the next attempt; each call doubles the next one.
  absl::Duration Next();
  // After a success: the next delay starts from min again.
  void Reset() { failures_ = 0; }
  // Attempts since the last Reset.
  int failures() const { return failures_; }

 private:
  absl::Duration min_;
  absl::Duration max_;
  int failures_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace leafsvc::fleet

#endif  // SERVER_FLEET_RECONNECT_BACKOFF_H_
