// The request budget on a fake clock, for its tests: Poll() stands for the
// timer, and each ask records when and how its grant ran.
#ifndef TESTS_BUDGET_BUDGET_FIXTURE_H_
#define TESTS_BUDGET_BUDGET_FIXTURE_H_

#include <deque>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/budget/request_budget.h"

namespace leafsvc::budget::testing {

class FakeClock {
 public:
  absl::Time Now() const { return now_; }
  void Advance(absl::Duration d) { now_ += d; }

 private:
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
};

struct Outcome {
  std::optional<absl::Status> status;
  absl::Time at;
};

class BudgetTest : public ::testing::Test {
 protected:
  void Make(RequestBudgetOptions options) {
    budget_ = std::make_unique<RequestBudget>(options, nullptr, [this] { return clock_.Now(); });
  }
  // Asks and records when and how the grant ran.
  Outcome* Ask(RequestClass c, absl::Duration deadline = absl::Hours(1)) {
    outcomes_.emplace_back();
    Outcome* o = &outcomes_.back();
    last_ticket_ = budget_->Acquire(c, clock_.Now() + deadline, [this, o](absl::Status s) {
      ASSERT_FALSE(o->status.has_value()) << "granted twice";
      o->status = std::move(s);
      o->at = clock_.Now();
    });
    return o;
  }
  void Step(absl::Duration d) {
    clock_.Advance(d);
    budget_->Poll();
  }

  FakeClock clock_;
  // Before the budget: its destructor ends the waits left, into these.
  std::deque<Outcome> outcomes_;
  std::unique_ptr<RequestBudget> budget_;
  RequestBudget::Ticket last_ticket_ = 0;
};

inline RequestBudgetOptions PerMinute(double rpm, int burst) {
  RequestBudgetOptions o;
  o.requests_per_minute = rpm;
  o.burst = burst;
  return o;
}

}  // namespace leafsvc::budget::testing

#endif  // TESTS_BUDGET_BUDGET_FIXTURE_H_
