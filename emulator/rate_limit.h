// Leaf's request limit as its API gateway enforces it (../shared/leaf-api.md,
// "Rate limiting"): at most N requests per API owner in any 60 seconds, over
// all of Leaf's endpoints together; over it the gateway answers 429 with its
// own JSON body (not problem+json) and, in an earlier draft, Retry-After.
//
// The window slides: a request at t is accepted when fewer than N accepted
// requests of its owner lie in (t - 60 s, t]. A fixed per-minute window would
// let 2N through around a minute's boundary, and tests assert "never more
// than N in any 60 s". Refused requests consume nothing. Accepted requests
// are tracked even when the limit is off, so that the stats can tell how
// close a client came to a budget. Thread-safe behind its own lock.
#ifndef EMULATOR_RATE_LIMIT_H_
#define EMULATOR_RATE_LIMIT_H_

#include <httplib.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace leafemu {

inline constexpr absl::Duration kRateLimitWindow = absl::Seconds(60);

struct RateLimitConfig {
  int per_minute = 0;  // 0: no limit (requests are still tracked)
  // When set, 429 answers carry "Retry-After: <seconds>"; Leaf's later draft
  // sends none.
  std::optional<int> retry_after_seconds;
};

struct RateLimitStats {
  // 429s answered because of the limit since start or reset.
  int64_t rate_limited_count = 0;
  // Accepted requests in the trailing 60 s, for the busiest owner.
  int requests_in_last_minute = 0;
  // The most accepted requests any one owner had in any 60 s since start or
  // reset.
  int max_requests_in_any_minute = 0;
};

class RateLimiter {
 public:
  using Clock = std::function<absl::Time()>;

  // A monotonic clock (steady_clock as an absl::Time): wall-clock steps must
  // not open or close the window.
  static absl::Time MonotonicNow();

  struct Decision {
    bool accepted = true;
    RateLimitConfig config;  // the configuration the decision was taken under
  };

  explicit RateLimiter(RateLimitConfig config, Clock clock = MonotonicNow);

  // Counts one request of `owner` if the limit allows it; a refusal is
  // counted as rate limited and consumes none of the owner's budget.
  Decision Admit(const std::string& owner);
  // Takes effect for the next request; the window's history is kept.
  void Configure(RateLimitConfig config);
  RateLimitConfig config() const;
  RateLimitStats Stats() const;
  // Forgets every window and counter and restores the initial configuration.
  void Reset();

 private:
  const RateLimitConfig initial_;
  const Clock clock_;
  mutable std::mutex mu_;
  RateLimitConfig config_;
  // Per owner, the times of its accepted requests in the last 60 s, oldest
  // first.
  std::map<std::string, std::deque<absl::Time>> accepted_;
  int64_t rate_limited_count_ = 0;
  int max_in_any_minute_ = 0;
};

// The gateway's 429: {"error":"Request limit exceeded","message":...,
// "status_code":429} as application/json, with Retry-After when `config`
// sets it.
std::string RateLimitedBody(const RateLimitConfig& config);
void SendRateLimited(httplib::Response& res, const RateLimitConfig& config);

}  // namespace leafemu

#endif  // EMULATOR_RATE_LIMIT_H_
