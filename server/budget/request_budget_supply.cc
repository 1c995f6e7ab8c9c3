// The request budget's fleet mode (RequestBudget::UseSupply): tokens come
// from the supply every replica shares while it answers, asked for on
// behalf of this process's waiters; the rest of the class is in
// request_budget.cc.
#include <algorithm>
#include <memory>
#include <utility>

#include "server/budget/request_budget.h"

namespace leafsvc::budget {
namespace {

// Fleet mode: most tokens asked of the shared supply at once; how long
// granted tokens stay usable; how soon to ask again after it failed.
constexpr int kMaxAsk = 20;
constexpr absl::Duration kSupplyTokenLife = absl::Seconds(1);
constexpr absl::Duration kSupplyRetry = absl::Seconds(1);

}  // namespace

void RequestBudget::UseSupply(TokenSupply* supply) {
  absl::MutexLock lock(&mu_);
  supply_ = supply;
  supply_up_ = true;
  supply_rate_per_second_ = rate_per_second_;
}

bool RequestBudget::supply_up() const {
  absl::MutexLock lock(&mu_);
  return FromSupply();
}

void RequestBudget::PlanAsk(absl::Time now) {
  if (supply_ == nullptr || supply_in_flight_ || shut_down_ || now < supply_next_) return;
  if (supply_up_) {
    // Asked only for waiters (callers are served from the queue within a
    // round trip), and not during a pause of this process.
    if (waiting_.empty() || now < paused_until_) return;
    if (supply_tokens_ >= 1 && now < supply_tokens_until_) return;
    ask_ = Ask{std::min<int>(kMaxAsk, static_cast<int>(waiting_.size())), queues_[0].empty()};
  } else {
    // A probe: back to the shared budget as soon as it answers.
    ask_ = Ask{1, queues_[0].empty()};
  }
  supply_in_flight_ = true;
}

void RequestBudget::SendAsk() {
  std::optional<Ask> ask;
  TokenSupply* supply;
  {
    absl::MutexLock lock(&mu_);
    ask.swap(ask_);
    supply = supply_;
  }
  if (!ask || supply == nullptr) return;
  supply->Take(ask->n, ask->background,
               [this, gate = gate_, n = ask->n](absl::StatusOr<TokenSupply::Tokens> tokens) {
                 CallbackGate::Pass pass(gate.get());
                 if (pass) OnSupply(n, std::move(tokens));
               });
}

void RequestBudget::OnSupply(int asked, absl::StatusOr<TokenSupply::Tokens> tokens) {
  absl::MutexLock lock(&mu_);
  supply_in_flight_ = false;
  const absl::Time now = now_();
  if (!tokens.ok()) {
    supply_up_ = false;
    supply_tokens_ = 0;
    supply_next_ = now + kSupplyRetry;
    if (observer_.rate_changed) observer_.rate_changed(rate_per_second_ * 60.0);
  } else {
    supply_up_ = true;
    if (now >= supply_tokens_until_) supply_tokens_ = 0;
    supply_tokens_ += tokens->granted;
    supply_tokens_until_ = now + kSupplyTokenLife;
    supply_next_ = tokens->granted < asked ? now + tokens->wait : now;
    const double rate = tokens->requests_per_minute / 60.0;
    if (rate > 0 && rate != supply_rate_per_second_) {
      supply_rate_per_second_ = rate;
      if (observer_.rate_changed) observer_.rate_changed(rate * 60.0);
    }
  }
  PollSoon(now);
}

void RequestBudget::PollSoon(absl::Time now) {
  if (shut_down_) return;
  if (scheduler_ == nullptr) return;  // tests: Poll() by hand
  auto id = std::make_shared<Scheduler::TaskId>(0);
  *id = scheduler_->RunAt(now, [this, id] {
    {
      absl::MutexLock lock(&mu_);
      timers_.erase(*id);
      if (shut_down_) return;
    }
    Poll();
  });
  timers_.insert(*id);
}

}  // namespace leafsvc::budget
