// Where the budget's tokens come from in fleet mode: a limiter shared by
// every replica (server/fleet/fleet_limiter.h), asked for a few tokens at a
// time. While it answers, the process's own bucket is not used; when it
// fails (Redis down), the budget falls back to its own bucket (configured
// with this replica's share) and asks again now and then.
#ifndef SERVER_BUDGET_TOKEN_SUPPLY_H_
#define SERVER_BUDGET_TOKEN_SUPPLY_H_

#include <functional>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace leafsvc::budget {

class TokenSupply {
 public:
  struct Tokens {
    // 0..n: requests that may be sent now.
    int granted = 0;
    // Until the next token is free (a pause, the refill, the minute's cap).
    absl::Duration wait;
    // The shared rate in force (lower than configured after 429s).
    double requests_per_minute = 0;
  };
  using Done = std::function<void(absl::StatusOr<Tokens>)>;

  virtual ~TokenSupply() = default;
  // Up to n tokens (1 <= n <= 1000); `background` when none of them is for
  // a caller (the shared minute keeps its last requests for callers). done
  // runs exactly once, on any thread, maybe inline; an error means the
  // supply is unreachable.
  virtual void Take(int n, bool background, Done done) = 0;
  // Leaf answered 429: pause every replica.
  virtual void OnRateLimited(std::optional<absl::Duration> retry_after) = 0;
  // Leaf answered something else.
  virtual void OnAnswered() = 0;
};

}  // namespace leafsvc::budget

#endif  // SERVER_BUDGET_TOKEN_SUPPLY_H_
