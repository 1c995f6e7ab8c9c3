// Leaf's 429 and what follows it (RequestBudget::OnRateLimited,
// OnAnswered, OnUnanswered): one pause for every class, its steps, the lowered
// rate, and the lone probe as it ends; the rest of the class is in
// request_budget.cc.
#include <algorithm>
#include <utility>
#include <vector>

#include "server/budget/request_budget.h"

namespace leafsvc::budget {
namespace {

// Longest pause a Retry-After may impose.
constexpr absl::Duration kMaxRetryAfter = absl::Minutes(10);

}  // namespace

void RequestBudget::OnRateLimited(std::optional<absl::Duration> retry_after) {
  std::vector<Ready> ready;
  TokenSupply* supply;
  {
    absl::MutexLock lock(&mu_);
    supply = supply_;
    const absl::Time now = now_();
    Refill(now);
    // Answers to requests sent before the pause began arrive together: one
    // step of the cooldown per pause, not one per answer.
    if (now >= paused_until_) ++rate_limited_in_a_row_;
    absl::Duration cooldown;
    if (retry_after.has_value()) {
      cooldown = std::clamp(*retry_after, absl::ZeroDuration(), kMaxRetryAfter);
    } else {
      const int doublings = std::min(rate_limited_in_a_row_ - 1, 20);
      cooldown = std::min(options_.max_cooldown, options_.first_cooldown * (1 << doublings));
      cooldown *= absl::Uniform(jitter_, 0.8, 1.2);
    }
    // Answers to requests sent before the pause began arrive together:
    // the rate is lowered once per pause, not once per answer.
    if (now >= paused_until_ && now >= last_lowered_ + options_.first_cooldown) {
      const double floor = options_.rate_floor * options_.requests_per_minute / 60.0;
      rate_per_second_ = std::max(floor, rate_per_second_ / 2);
      last_lowered_ = now;
      if (observer_.rate_changed) observer_.rate_changed(rate_per_second_ * 60.0);
    }
    paused_until_ = std::max(paused_until_, now + cooldown);
    // Nothing accrues during the pause; one request probes Leaf as it ends,
    // and the others wait for its answer, then tokens come at the lowered
    // rate.
    tokens_ = 1;
    probe_due_ = true;
    probe_until_ = absl::InfinitePast();
    if (observer_.rate_limited) observer_.rate_limited();
    // The shared supply's tokens are spent: the fleet pauses too.
    supply_tokens_ = 0;
    Drain(now, &ready);
    ArmTimer(now);
  }
  // Every replica pauses (their next ask learns of it).
  if (supply != nullptr) supply->OnRateLimited(retry_after);
  Run(ready);
  SendAsk();
}

void RequestBudget::OnAnswered() { OnEnded(/*answered=*/true); }

void RequestBudget::OnUnanswered() { OnEnded(/*answered=*/false); }

void RequestBudget::OnEnded(bool answered) {
  std::vector<Ready> ready;
  TokenSupply* supply;
  bool drained = false;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = now_();
    // An answer that comes during a pause is to a request sent before it:
    // it does not say that Leaf took the pause well.
    if (answered && now >= paused_until_) rate_limited_in_a_row_ = 0;
    supply = supply_;
    if (!shut_down_ && ProbeOut(now)) {
      // Leaf answered: the waiters go. A request that ended unanswered
      // (maybe the probe: a network error, a cancel) told nothing, so the
      // next grant probes again, alone.
      probe_until_ = absl::InfinitePast();
      probe_due_ = !answered;
      Drain(now, &ready);
      ArmTimer(now);
      drained = true;
    }
  }
  if (answered && supply != nullptr) supply->OnAnswered();
  if (!drained) return;  // the common case: one lock, nothing else
  Run(ready);
  SendAsk();
}

}  // namespace leafsvc::budget
