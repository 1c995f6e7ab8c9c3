// One Leaf request budget for the whole fleet, kept in Redis (issue 21,
// item 2). Every replica keeps its own priority queue (RequestBudget) and
// asks this limiter for tokens in small batches; the limit itself lives in
// one atomic Lua script on keys `agleader:budget:{<name>}:*` (one hash tag,
// so one cluster slot):
// - a shared token bucket (requests_per_minute tokens per 61 s, at most
//   `burst` at once) and a cap of requests_per_minute grants in any 61 s
//   (per-second counters in a hash of at most 62 fields: bounded memory);
// - a shared 429 cooldown: any replica's OnRateLimited pauses every replica
//   (Retry-After exactly, else 2 s doubling per 429 in a row up to 2 min,
//   ±20% jitter drawn here), once per pause, and halves the shared rate in
//   force (down to its floor), which climbs back linearly over
//   recovery_time once the pause is over.
// Time is Redis's own (TIME in the script): replicas' clocks differ.
//
// Every call carries the Redis client's command deadline. When Redis is
// down the call fails at once with UNAVAILABLE and the caller falls back to
// LocalShare(): its share of the budget, alone.
//
// Thread-safe. Callbacks run on the Redis client's loop thread (never under
// a lock of the limiter); they must be quick and must not block. The
// limiter may be destroyed while calls are in flight (their callbacks still
// run), but the client must outlive the limiter.
#ifndef SERVER_FLEET_FLEET_LIMITER_H_
#define SERVER_FLEET_FLEET_LIMITER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/budget/request_budget.h"
#include "server/fleet/redis_client.h"

namespace leafsvc::fleet {

struct FleetLimiterOptions {
  // The fleet's budget: requests_per_minute (> 0), burst, first_cooldown,
  // max_cooldown, rate_floor and recovery_time apply fleet-wide; the
  // class-related fields are for the local queue (LocalShare).
  budget::RequestBudgetOptions budget;
  // The keys' hash tag: replicas sharing one Leaf API owner use one name.
  std::string name = "leaf";
};

class FleetLimiter final : public budget::TokenSupply {
 public:
  struct Grant {
    // 0..n tokens: send that many requests now.
    int granted = 0;
    // Until the next token is free (zero: now): the pause, the bucket's
    // refill or the 61 s cap, whichever is longest.
    absl::Duration wait;
    // Redis's clock when the tokens were granted.
    absl::Time redis_time;
    // The fleet's rate in force (below the configured one after 429s).
    double requests_per_minute = 0;
  };
  using AcquireDone = std::function<void(absl::StatusOr<Grant>)>;
  // The pause now in force for the whole fleet.
  using PauseDone = std::function<void(absl::StatusOr<absl::Duration>)>;

  // INVALID_ARGUMENT on bad options (requests_per_minute <= 0: an
  // unlimited budget needs no limiter; burst < 1; a name with braces).
  static absl::StatusOr<std::unique_ptr<FleetLimiter>> Create(FleetLimiterOptions options,
                                                              RedisClient* client);
  ~FleetLimiter() override;

  FleetLimiter(const FleetLimiter&) = delete;
  FleetLimiter& operator=(const FleetLimiter&) = delete;

  // Asks for up to n tokens (1 <= n <= 1000) at once. done runs exactly
  // once: on the client's thread, or inline with INVALID_ARGUMENT for a bad
  // n. Errors are the client's (UNAVAILABLE when Redis is down,
  // DEADLINE_EXCEEDED...) or INTERNAL for a reply that makes no sense.
  void Acquire(int n, AcquireDone done);
  // The same; `background`: none of the n is for a caller, so the shared
  // minute's last tenth (at most a burst) is not granted to them.
  void Acquire(int n, bool background, AcquireDone done);
  // budget::TokenSupply: Acquire, OnRateLimited and OnAnswered for the
  // process's RequestBudget.
  void Take(int n, bool background, Done done) override;
  void OnRateLimited(std::optional<absl::Duration> retry_after) override;
  // Leaf answered 429 (`retry_after` when it said so): pauses the fleet.
  // done (may be empty) gets the fleet's pause.
  void OnRateLimited(std::optional<absl::Duration> retry_after, PauseDone done);
  // Leaf answered anything else: the next 429 starts the cooldown's steps
  // over. Sends a command only when the steps are known to be non-zero.
  void OnAnswered() override;

  // The fleet's rate in force per the last reply (the configured rate
  // until one came).
  double RatePerMinute() const;
  // The per-process budget to use while Redis is unreachable: this
  // replica's share of the fleet's (requests_per_minute and burst divided by
  // fleet_size_hint, burst at least 1). INVALID_ARGUMENT if the hint < 1.
  absl::StatusOr<budget::RequestBudgetOptions> LocalShare(int fleet_size_hint) const;

  // The script was (re)loaded into Redis this many times (tests: NOSCRIPT
  // after SCRIPT FLUSH or a restart).
  std::int64_t script_loads() const;
  // The Lua script (for docs and tests).
  static const char* Script();

  struct State;

 private:
  FleetLimiter(FleetLimiterOptions options, RedisClient* client);
  std::shared_ptr<State> state_;
};

}  // namespace leafsvc::fleet

#endif  // SERVER_FLEET_FLEET_LIMITER_H_
