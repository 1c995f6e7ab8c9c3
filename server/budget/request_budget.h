// The process's budget of requests to Leaf. Leaf allows about 1,000
// requests a minute per API owner, all endpoints together, and answers 429
// past it; every request this process sends to Leaf (calls, retries,
// logins, webhook registration) asks the budget first and is sent only
// once granted.
//
// A token bucket (`requests_per_minute`, `burst`), capped so that no 60 s
// ever holds more than `requests_per_minute` grants (a bucket alone lets a
// burst plus a minute's refill through; Leaf counts a sliding minute),
// hands tokens to waiters by class: caller-facing calls first, then alert-prompted reads, then
// watch polls, then bulk work. Lower classes take what higher ones leave,
// except that background classes together get at least
// `background_min_share` of recent grants when they are waiting (split
// evenly among the background classes waiting, so polls never starve bulk
// work either); a caller therefore waits at most one token behind
// background work. A waiter that cannot get a token before its deadline
// (estimated on arrival, enforced while waiting) or finds the queue full is
// refused with RESOURCE_EXHAUSTED, reason LEAF_RATE_LIMITED, and a
// RetryInfo with the time until a token is free.
//
// Leaf's 429 pauses every class (one shared cooldown, exponential with
// jitter, Retry-After honoured; as it ends one request probes Leaf and the
// rest wait for its answer, at most first_cooldown) and halves the rate (at
// most once per cooldown, down to a floor); the rate then recovers linearly
// over `recovery_time`, since Leaf's real limit is unpublished and may be
// lower than configured.
#ifndef SERVER_BUDGET_REQUEST_BUDGET_H_
#define SERVER_BUDGET_REQUEST_BUDGET_H_

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/budget/token_supply.h"
#include "server/platform/callback_gate.h"
#include "server/platform/scheduler.h"

namespace leafsvc::budget {

// In priority order.
enum class RequestClass { kCaller = 0, kPrompted = 1, kPoll = 2, kBulk = 3 };
inline constexpr int kRequestClasses = 4;
// "caller", "prompted", "poll", "bulk" (the metrics' `class` label).
absl::string_view RequestClassName(RequestClass c);

struct RequestBudgetOptions {
  // 0: unlimited (every request is granted at once).
  double requests_per_minute = 1000;
  int burst = 20;
  // Least share of grants for the background classes (prompted, poll,
  // bulk) while they wait.
  double background_min_share = 0.10;
  // Most waiters of all classes together.
  int max_waiting = 10000;
  // The first pause after a 429 without Retry-After; doubles per 429 in a
  // row, up to max_cooldown (jittered ±20%).
  absl::Duration first_cooldown = absl::Seconds(2);
  absl::Duration max_cooldown = absl::Minutes(2);
  // The rate never drops below this share of the configured one.
  double rate_floor = 0.1;
  // From the floor back to the configured rate.
  absl::Duration recovery_time = absl::Minutes(10);
};

class RequestBudget {
 public:
  // OK: send the request now. Otherwise why not (LEAF_RATE_LIMITED with
  // RetryInfo, CANCELLED, SHUTTING_DOWN).
  using Grant = std::function<void(absl::Status)>;
  using Ticket = std::uint64_t;
  // Told each grant and each wait (for metrics); any may be empty. Called
  // under the budget's lock: quick, and never calling into the budget.
  struct Observer {
    std::function<void(RequestClass)> granted;
    std::function<void(RequestClass)> waited;
    std::function<void()> rate_limited;
    // The rate in force changed (lowered after a 429, or recovering).
    std::function<void(double requests_per_minute)> rate_changed;
  };

  // `scheduler` wakes waiters when tokens come (null: only Poll() does,
  // for tests); `now` is the clock.
  RequestBudget(RequestBudgetOptions options, Scheduler* scheduler,
                std::function<absl::Time()> now = &absl::Now, Observer observer = {});
  // Refuses the waiters left (SHUTTING_DOWN) and cancels its timers.
  ~RequestBudget();

  // Asks for one request of class `c` to be sent before `deadline`.
  // `grant` runs exactly once, inline when the answer is known at once,
  // else on the scheduler's thread, never under the budget's lock.
  Ticket Acquire(RequestClass c, absl::Time deadline, Grant grant);
  // The waiter's grant runs with CANCELLED unless it already ran.
  void Cancel(Ticket ticket);
  // Grants what can be granted now and refuses overdue waiters.
  void Poll();
  // Ends every wait (SHUTTING_DOWN), cancels its timers (the scheduler may
  // go once this returns) and refuses new ones.
  void Shutdown();

  // Fleet mode: tokens come from `supply` (shared by every replica) while
  // it answers, and this budget's own bucket (its options: the replica's
  // share) is used only while it does not; it is asked again every
  // second meanwhile. Call before use; `supply` must outlive the budget.
  // Classes keep their order within this process; the shared minute keeps
  // its last tenth for callers of every replica.
  void UseSupply(TokenSupply* supply);
  // Fleet mode and the shared supply answered last time.
  bool supply_up() const;

  // Leaf answered 429 (`retry_after` when it said).
  void OnRateLimited(std::optional<absl::Duration> retry_after);
  // Leaf answered anything else: the cooldown starts over from the first
  // step at the next 429 (unless the answer came during a pause: it is to a
  // request sent before it).
  void OnAnswered();
  // A granted request ended without Leaf's answer (a network error, a
  // cancel, or never sent).
  void OnUnanswered();

  // The rate in force now (after 429s it is lower than configured).
  double requests_per_minute() const;
  // The requests a minute class `c` gets now, roughly: the rate in force
  // less what the classes above it took of the recent grants, and never
  // less than its floor (for a background class). For a client's ETA.
  double ClassRequestsPerMinute(RequestClass c) const;
  // When a request of class `c` asked now would be granted, roughly (the
  // queue ahead of it included); zero when at once.
  absl::Duration EstimatedWait(RequestClass c) const;
  bool unlimited() const { return options_.requests_per_minute <= 0; }

 private:
  struct Waiter {
    Ticket ticket;
    RequestClass cls;
    absl::Time deadline;
    Grant grant;
  };
  using Queue = std::list<Waiter>;
  struct Ready {
    Grant grant;
    absl::Status status;
  };

  void Refill(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Spends a token for a grant at `now` if the bucket has one and the
  // trailing minute has room; false otherwise.
  bool TakeToken(absl::Time now, RequestClass c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Most grants in any 60 s at the rate in force.
  // (Background classes leave the minute's last few to callers.)
  int MinuteCap(RequestClass c = RequestClass::kCaller) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The cap that decides when the next waiter can go (callers' when one
  // waits, else the background classes').
  int WaitingCap() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Which class gets the next token (-1: nobody waits).
  int PickClass() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The highest class with a waiter (-1: nobody waits).
  int HighestWaiting() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecordGrant(RequestClass c, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The probe after a pause has been sent and not answered yet (nor has
  // its hold of first_cooldown passed): nothing else is granted.
  bool ProbeOut(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return now < probe_until_;
  }
  // Tokens may be granted at `now`: no pause, no probe out.
  bool Granting(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return now >= paused_until_ && !ProbeOut(now);
  }
  // A granted request ended (`answered`: Leaf answered, not 429). Any end
  // lifts the probe's hold: after an answer the waiters go, after none the
  // next grant probes again.
  void OnEnded(bool answered) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Duration WaitFor(int position, absl::Time now, int cap) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // How long a new waiter of class `c` would wait: behind every waiter of
  // its class and those above, or, for a background class, at its floor,
  // whichever comes first.
  absl::Duration EstimateFor(RequestClass c, absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Waiters ahead of a new one of class `c` (its class and those above).
  int Ahead(RequestClass c) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Drain(absl::Time now, std::vector<Ready>* ready) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes `it` (of class `cls`) out of the queues.
  Grant Remove(Queue::iterator it) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ArmTimer(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Refusal(absl::Duration wait, absl::string_view why) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The refusal of a request that cannot go before its deadline (marked
  // http::kTooLatePayload).
  absl::Status TooLate(absl::Duration wait) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void Run(std::vector<Ready>& ready);
  // Tokens come from the shared supply now.
  bool FromSupply() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return supply_ != nullptr && supply_up_;
  }
  // The rate in force, per second: the fleet's while the supply answers.
  double RatePerSecond() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Decides whether to ask the supply for tokens now (sent by SendAsk).
  void PlanAsk(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends the ask PlanAsk decided, if any. Not under mu_.
  void SendAsk() ABSL_LOCKS_EXCLUDED(mu_);
  void OnSupply(int asked, absl::StatusOr<TokenSupply::Tokens> tokens);
  // A scheduler task that Polls now (grants run on the scheduler's thread,
  // not the supply's).
  void PollSoon(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RequestBudgetOptions options_;
  Scheduler* const scheduler_;
  const std::function<absl::Time()> now_;
  const Observer observer_;

  mutable absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  double rate_per_second_ ABSL_GUARDED_BY(mu_);  // in force now
  double tokens_ ABSL_GUARDED_BY(mu_);
  absl::Time refilled_ ABSL_GUARDED_BY(mu_);
  absl::Time paused_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time last_lowered_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int rate_limited_in_a_row_ ABSL_GUARDED_BY(mu_) = 0;
  // Set by a 429: the first grant after the pause is a probe, and nothing
  // else is granted until its answer (or until probe_until_).
  bool probe_due_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time probe_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  Ticket next_ticket_ ABSL_GUARDED_BY(mu_) = 0;
  std::array<Queue, kRequestClasses> queues_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<Ticket, Queue::iterator> waiting_ ABSL_GUARDED_BY(mu_);
  // Every waiter by deadline (the earliest is refused first).
  std::set<std::pair<absl::Time, Ticket>> deadlines_ ABSL_GUARDED_BY(mu_);
  // The classes of the last grants (the floor's window), and how many of
  // them each class had.
  std::deque<int> recent_ ABSL_GUARDED_BY(mu_);
  // When each grant of the trailing minute was made, oldest first.
  std::deque<absl::Time> minute_ ABSL_GUARDED_BY(mu_);
  std::array<int, kRequestClasses> recent_count_ ABSL_GUARDED_BY(mu_) = {};
  // The scheduler task that will Poll, and when (none: InfiniteFuture).
  absl::Time timer_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  absl::flat_hash_set<Scheduler::TaskId> timers_ ABSL_GUARDED_BY(mu_);
  absl::BitGen jitter_ ABSL_GUARDED_BY(mu_);

  // Fleet mode (UseSupply).
  struct Ask {
    int n;
    bool background;
  };
  TokenSupply* supply_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool supply_up_ ABSL_GUARDED_BY(mu_) = true;
  bool supply_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<Ask> ask_ ABSL_GUARDED_BY(mu_);
  // Tokens the supply granted and not used yet; they lapse (the fleet
  // counted them when it granted them).
  int supply_tokens_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time supply_tokens_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // No ask before this (the fleet's wait, or the retry after a failure).
  absl::Time supply_next_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  double supply_rate_per_second_ ABSL_GUARDED_BY(mu_) = 0;
  // Admits the supply's answers while the budget lives.
  std::shared_ptr<CallbackGate> gate_ = std::make_shared<CallbackGate>();
};

}  // namespace leafsvc::budget

#endif  // SERVER_BUDGET_REQUEST_BUDGET_H_
