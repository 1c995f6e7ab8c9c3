#include "server/budget/request_budget.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"
#include "server/http/http_client.h"

namespace leafsvc::budget {
namespace {

// Grants remembered for the background floor.
constexpr size_t kShareWindow = 50;
// The window of the per-minute cap: a minute and a second, so that two
// requests granted a minute apart, then delayed differently on their way
// (a pooled connection, a new one), never land in one of Leaf's minutes.
constexpr absl::Duration kMinute = absl::Seconds(61);
// Tokens accrue at the rate spread over that window (a minute's requests
// in 61 s), so the bucket never outruns the cap and grants flow evenly
// instead of stalling for a second at each minute's end.
constexpr double kRefillScale = 60.0 / 61.0;

}  // namespace

absl::string_view RequestClassName(RequestClass c) {
  switch (c) {
    case RequestClass::kCaller:
      return "caller";
    case RequestClass::kPrompted:
      return "prompted";
    case RequestClass::kPoll:
      return "poll";
    case RequestClass::kBulk:
      return "bulk";
  }
  return "caller";
}

RequestBudget::RequestBudget(RequestBudgetOptions options, Scheduler* scheduler,
                             std::function<absl::Time()> now, Observer observer)
    : options_(std::move(options)),
      scheduler_(scheduler),
      now_(std::move(now)),
      observer_(std::move(observer)),
      rate_per_second_(options_.requests_per_minute / 60.0),
      tokens_(std::max(1, options_.burst)),
      refilled_(now_()) {}

RequestBudget::~RequestBudget() {
  Shutdown();
  // The supply's answers still on their way find the gate closed.
  gate_->Close();
}

double RequestBudget::RatePerSecond() const {
  return FromSupply() ? supply_rate_per_second_ : rate_per_second_;
}

void RequestBudget::Refill(absl::Time now) {
  if (now <= refilled_) return;
  // No token accrues during a pause, and the rate recovers only outside one.
  const absl::Time from = std::max(refilled_, paused_until_);
  refilled_ = now;
  if (now <= from) return;
  const double seconds = absl::ToDoubleSeconds(now - from);
  const double configured = options_.requests_per_minute / 60.0;
  if (rate_per_second_ < configured) {
    const double step =
        configured * seconds / std::max(1.0, absl::ToDoubleSeconds(options_.recovery_time));
    rate_per_second_ = std::min(configured, rate_per_second_ + step);
    if (observer_.rate_changed) observer_.rate_changed(rate_per_second_ * 60.0);
  }
  tokens_ = std::min<double>(std::max(1, options_.burst),
                             tokens_ + rate_per_second_ * kRefillScale * seconds);
}

int RequestBudget::HighestWaiting() const {
  for (int c = 0; c < kRequestClasses; ++c) {
    if (!queues_[c].empty()) return c;
  }
  return -1;
}

int RequestBudget::PickClass() const {
  int highest = -1;
  int background_waiting = 0;
  for (int c = kRequestClasses - 1; c >= 0; --c) {
    if (queues_[c].empty()) continue;
    highest = c;
    if (c != static_cast<int>(RequestClass::kCaller)) ++background_waiting;
  }
  // No grant yet to measure shares by: callers first.
  if (highest < 0 || background_waiting == 0 || recent_.empty()) return highest;
  // A class waiting behind a higher one gets its floor: the background
  // classes together at least background_min_share of the recent grants,
  // split evenly among those waiting, so neither callers starve the
  // background nor polls starve bulk work. The one furthest below goes first.
  const double floor = options_.background_min_share / background_waiting;
  int pick = highest;
  double lowest = floor;
  for (int c = highest + 1; c < kRequestClasses; ++c) {
    if (queues_[c].empty()) continue;
    const double share = static_cast<double>(recent_count_[c]) / recent_.size();
    if (share < lowest) {
      lowest = share;
      pick = c;
    }
  }
  return pick;
}

void RequestBudget::RecordGrant(RequestClass c, absl::Time now) {
  if (probe_due_) {
    // The first grant after a 429's pause probes Leaf alone.
    probe_due_ = false;
    probe_until_ = now + options_.first_cooldown;
  }
  recent_.push_back(static_cast<int>(c));
  ++recent_count_[static_cast<int>(c)];
  if (recent_.size() > kShareWindow) {
    --recent_count_[recent_.front()];
    recent_.pop_front();
  }
  if (observer_.granted) observer_.granted(c);
}

absl::Duration RequestBudget::EstimateFor(RequestClass c, absl::Time now) const {
  const absl::Duration by_priority = WaitFor(Ahead(c) + 1, now, MinuteCap(c));
  if (c == RequestClass::kCaller || options_.background_min_share <= 0) return by_priority;
  // A background class is also served by its floor, whatever waits above.
  int background_waiting = queues_[static_cast<int>(c)].empty() ? 1 : 0;
  for (int k = 1; k < kRequestClasses; ++k) background_waiting += queues_[k].empty() ? 0 : 1;
  const double floor = options_.background_min_share / background_waiting;
  const double rate = RatePerSecond() * kRefillScale;
  if (floor <= 0 || rate <= 0) return by_priority;
  // The floor serves the class once its share of the recent grants is below
  // it: if it already had more (a burst it took alone), that is after the
  // grants that age enough of its own out of the window, each going to a
  // class above in the worst case. Then one grant in 1/floor is its own.
  const int ci = static_cast<int>(c);
  size_t size = recent_.size();
  int count = recent_count_[ci];
  int before = 0;
  for (auto oldest = recent_.begin();
       size > 0 && count >= floor * static_cast<double>(size) && before < int{kShareWindow};
       ++before) {
    if (size < kShareWindow) {
      ++size;
    } else if (*oldest++ == ci) {
      --count;
    }
  }
  const absl::Duration pause = std::max(absl::ZeroDuration(), paused_until_ - now);
  const double position = static_cast<double>(queues_[ci].size()) + 1;
  const double grants = before + 1 + (position - 1) / floor;
  return std::min(by_priority, pause + absl::Seconds(grants / rate));
}

absl::Duration RequestBudget::WaitFor(int position, absl::Time now, int cap) const {
  const absl::Duration pause = std::max(absl::ZeroDuration(), paused_until_ - now);
  if (FromSupply()) {
    // The shared wait, then the fleet's pace for those further back (a
    // guess: other replicas take their part too).
    absl::Duration wait = std::max({absl::ZeroDuration(), pause, supply_next_ - now});
    const int usable = now < supply_tokens_until_ ? supply_tokens_ : 0;
    const double missing = position - usable - 1;
    if (missing > 0 && supply_rate_per_second_ > 0) {
      wait += absl::Seconds(missing / (supply_rate_per_second_ * kRefillScale));
    }
    return wait;
  }
  absl::Duration wait = pause;
  const double missing = position - tokens_;
  if (missing > 0) {
    if (rate_per_second_ <= 0) return absl::InfiniteDuration();
    wait = pause + absl::Seconds(missing / (rate_per_second_ * kRefillScale));
  }
  // The trailing minute: the grant `position` places ahead can only come
  // once enough of the minute's grants have aged out.
  const int over = static_cast<int>(minute_.size()) + position - cap;
  if (over > 0 && over <= static_cast<int>(minute_.size())) {
    wait = std::max(wait, minute_[over - 1] + kMinute - now);
  }
  return wait;
}

int RequestBudget::MinuteCap(RequestClass c) const {
  const int cap = std::max(1, static_cast<int>(std::floor(rate_per_second_ * 60.0 + 1e-9)));
  if (c == RequestClass::kCaller) return cap;
  // The last requests of each minute are callers' only: when background
  // work has filled the minute, a caller still waits at most for a token,
  // not for the minute to roll over.
  return std::max(1, cap - std::min(options_.burst, cap / 10));
}

int RequestBudget::WaitingCap() const {
  return MinuteCap(queues_[0].empty() ? RequestClass::kPrompted : RequestClass::kCaller);
}

bool RequestBudget::TakeToken(absl::Time now, RequestClass c) {
  while (!minute_.empty() && minute_.front() <= now - kMinute) minute_.pop_front();
  if (FromSupply()) {
    // The shared limiter keeps the fleet's minute (and its callers' last
    // tenth); this process only spends what it was granted.
    if (now >= supply_tokens_until_) supply_tokens_ = 0;
    if (supply_tokens_ < 1) return false;
    --supply_tokens_;
    return true;
  }
  if (tokens_ < 1 || static_cast<int>(minute_.size()) >= MinuteCap(c)) return false;
  tokens_ -= 1;
  minute_.push_back(now);
  return true;
}

int RequestBudget::Ahead(RequestClass c) const {
  int ahead = 0;
  for (int k = 0; k <= static_cast<int>(c); ++k) ahead += static_cast<int>(queues_[k].size());
  return ahead;
}

RequestBudget::Grant RequestBudget::Remove(Queue::iterator it) {
  Grant grant = std::move(it->grant);
  deadlines_.erase({it->deadline, it->ticket});
  waiting_.erase(it->ticket);
  queues_[static_cast<int>(it->cls)].erase(it);
  return grant;
}

absl::Status RequestBudget::Refusal(absl::Duration wait, absl::string_view why) const {
  StatusDetails d;
  if (wait < absl::InfiniteDuration()) d.retry_delay = std::max(wait, absl::Milliseconds(1));
  return MakeError(
      reasons::kLeafRateLimited,
      absl::StrCat(
          FromSupply() ? "the fleet's budget of requests to Leaf ("
                       : "this server's budget of requests to Leaf (",
          absl::StrFormat(
              "%.0f", FromSupply() ? supply_rate_per_second_ * 60 : options_.requests_per_minute),
          FromSupply() ? " a minute, shared by every replica) "
                       : " a minute, shared by all its calls) ",
          why,
          wait < absl::InfiniteDuration()
              ? absl::StrCat("; a request is free in about ",
                             absl::FormatDuration(absl::Ceil(wait, absl::Milliseconds(100))))
              : std::string(),
          "; retry then, or give the call a longer deadline"),
      d);
}

absl::Status RequestBudget::TooLate(absl::Duration wait) const {
  absl::Status refusal = Refusal(wait, "has no request free before the call's deadline");
  refusal.SetPayload(http::kTooLatePayload, absl::Cord("true"));
  return refusal;
}

void RequestBudget::Drain(absl::Time now, std::vector<Ready>* ready) {
  Refill(now);
  if (Granting(now)) {
    for (;;) {
      // The probe after a pause goes to the first waiter of the highest
      // class (a caller, when one waits); then the shares apply again.
      int c = probe_due_ ? HighestWaiting() : PickClass();
      if (c < 0) break;
      if (!TakeToken(now, static_cast<RequestClass>(c))) {
        // The minute's last requests are callers': a waiting caller may
        // still go when the background class picked may not.
        if (c == 0 || queues_[0].empty() || !TakeToken(now, RequestClass::kCaller)) break;
        c = 0;
      }
      RecordGrant(static_cast<RequestClass>(c), now);
      ready->push_back({Remove(queues_[c].begin()), absl::OkStatus()});
      if (ProbeOut(now)) break;
    }
  }
  // Waiters whose deadline comes before the next token (after a 429's
  // pause began, or the rate dropped) can no longer be served: refused now,
  // with the time until a token, rather than at their deadline, when the
  // caller's own deadline would beat the refusal.
  const absl::Time next_token = now + WaitFor(1, now, WaitingCap());
  while (!deadlines_.empty() &&
         (deadlines_.begin()->first <= now || deadlines_.begin()->first < next_token)) {
    auto it = waiting_.find(deadlines_.begin()->second);
    const RequestClass cls = it->second->cls;
    Grant grant = Remove(it->second);
    ready->push_back({std::move(grant), TooLate(EstimateFor(cls, now))});
  }
  PlanAsk(now);
}

void RequestBudget::ArmTimer(absl::Time now) {
  if (scheduler_ == nullptr || shut_down_ || waiting_.empty()) return;
  absl::Time next = now + WaitFor(1, now, WaitingCap());
  // While the probe is out its answer drains the queue; the timer only
  // ends a hold whose answer never came.
  if (ProbeOut(now)) next = std::max(next, probe_until_);
  if (FromSupply()) {
    // The supply's answer polls; otherwise when the shared wait is over
    // (never a busy loop on a wait of zero).
    next = supply_in_flight_
               ? absl::InfiniteFuture()
               : std::max({supply_next_, paused_until_, probe_until_, now + absl::Milliseconds(5)});
  }
  if (!deadlines_.empty()) next = std::min(next, deadlines_.begin()->first);
  if (next >= timer_at_ && timer_at_ > now) return;
  timer_at_ = next;
  // The task blocks on mu_ (held here) until its id is recorded.
  auto id = std::make_shared<Scheduler::TaskId>(0);
  *id = scheduler_->RunAt(next, [this, id] {
    std::vector<Ready> ready;
    {
      absl::MutexLock lock(&mu_);
      timers_.erase(*id);
      if (shut_down_) return;
      const absl::Time at = now_();
      if (at >= timer_at_) timer_at_ = absl::InfiniteFuture();
      Drain(at, &ready);
      ArmTimer(at);
    }
    Run(ready);
    SendAsk();
  });
  timers_.insert(*id);
}

void RequestBudget::Run(std::vector<Ready>& ready) {
  for (Ready& r : ready) r.grant(std::move(r.status));
}

RequestBudget::Ticket RequestBudget::Acquire(RequestClass c, absl::Time deadline, Grant grant) {
  std::vector<Ready> ready;
  Ticket ticket;
  {
    absl::MutexLock lock(&mu_);
    ticket = ++next_ticket_;
    if (shut_down_) {
      ready.push_back({std::move(grant),
                       MakeError(reasons::kShuttingDown, "this server is shutting down; retry")});
    } else if (unlimited()) {
      if (observer_.granted) observer_.granted(c);
      ready.push_back({std::move(grant), absl::OkStatus()});
    } else {
      const absl::Time now = now_();
      Drain(now, &ready);
      // After Drain, a whole token left means nobody waits.
      if (Granting(now) && waiting_.empty() && TakeToken(now, c)) {
        RecordGrant(c, now);
        ready.push_back({std::move(grant), absl::OkStatus()});
      } else {
        const absl::Duration wait = EstimateFor(c, now);
        if (static_cast<int>(waiting_.size()) >= options_.max_waiting) {
          ready.push_back({std::move(grant), Refusal(wait, "has too many requests waiting")});
        } else if (now + wait > deadline) {
          ready.push_back({std::move(grant), TooLate(wait)});
        } else {
          Queue& q = queues_[static_cast<int>(c)];
          q.push_back(Waiter{ticket, c, deadline, std::move(grant)});
          waiting_[ticket] = std::prev(q.end());
          deadlines_.insert({deadline, ticket});
          if (observer_.waited) observer_.waited(c);
          // Tokens at hand that the waiters before it could not use (the
          // minute's last requests are callers'): it may go at once.
          Drain(now, &ready);
          ArmTimer(now);
        }
      }
    }
  }
  Run(ready);
  SendAsk();
  return ticket;
}

void RequestBudget::Cancel(Ticket ticket) {
  Grant grant;
  {
    absl::MutexLock lock(&mu_);
    auto it = waiting_.find(ticket);
    if (it == waiting_.end()) return;
    grant = Remove(it->second);
  }
  grant(absl::CancelledError("the request to Leaf was cancelled while it waited for the budget"));
}

void RequestBudget::Poll() {
  std::vector<Ready> ready;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    const absl::Time now = now_();
    Drain(now, &ready);
    ArmTimer(now);
  }
  Run(ready);
  SendAsk();
}

void RequestBudget::Shutdown() {
  std::vector<Ready> ready;
  absl::flat_hash_set<Scheduler::TaskId> timers;
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    const absl::Status status =
        MakeError(reasons::kShuttingDown, "this server is shutting down; retry");
    for (Queue& q : queues_) {
      for (Waiter& w : q) ready.push_back({std::move(w.grant), status});
      q.clear();
    }
    waiting_.clear();
    deadlines_.clear();
    timers.swap(timers_);
  }
  // A timer running now finds the budget shut down and returns; Cancel
  // waits for it, so once this returns no timer touches the budget (and
  // the scheduler may go before it).
  for (Scheduler::TaskId id : timers) scheduler_->Cancel(id);
  Run(ready);
}

double RequestBudget::requests_per_minute() const {
  absl::MutexLock lock(&mu_);
  return RatePerSecond() * 60.0;
}

double RequestBudget::ClassRequestsPerMinute(RequestClass c) const {
  absl::MutexLock lock(&mu_);
  const double rate = RatePerSecond() * 60.0;
  if (unlimited() || recent_.empty()) return rate;
  int above = 0;
  for (int k = 0; k < static_cast<int>(c); ++k) above += recent_count_[k];
  double share = 1.0 - static_cast<double>(above) / recent_.size();
  if (c != RequestClass::kCaller) {
    int background_waiting = queues_[static_cast<int>(c)].empty() ? 1 : 0;
    for (int k = 1; k < kRequestClasses; ++k) background_waiting += queues_[k].empty() ? 0 : 1;
    share = std::max(share, options_.background_min_share / background_waiting);
  }
  return rate * share;
}

absl::Duration RequestBudget::EstimatedWait(RequestClass c) const {
  if (unlimited()) return absl::ZeroDuration();
  absl::MutexLock lock(&mu_);
  return EstimateFor(c, std::max(now_(), refilled_));
}

}  // namespace leafsvc::budget
