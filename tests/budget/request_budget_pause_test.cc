// What Leaf's 429 does to the request budget, on a fake clock: one pause
// for every class whatever the number of 429s in a burst, its steps, the
// rate halved once and recovering, Retry-After honoured exactly, and, as
// the pause ends, one probe alone until it ends.
#include <optional>
#include <vector>

#include "gtest/gtest.h"
#include "server/budget/request_budget.h"
#include "tests/budget/budget_fixture.h"

namespace leafsvc::budget {
namespace {

using C = RequestClass;
using ::leafsvc::budget::testing::BudgetTest;
using ::leafsvc::budget::testing::Outcome;
using ::leafsvc::budget::testing::PerMinute;

TEST_F(BudgetTest, A429PausesEveryClassAndLowersTheRateOnce) {
  RequestBudgetOptions o = PerMinute(600, 5);
  o.first_cooldown = absl::Seconds(2);
  Make(o);
  // Three answers of one burst come back 429 together: one pause, one step.
  budget_->OnRateLimited(std::nullopt);
  budget_->OnRateLimited(std::nullopt);
  budget_->OnRateLimited(std::nullopt);
  EXPECT_NEAR(budget_->requests_per_minute(), 300, 1e-6);
  Outcome* caller = Ask(C::kCaller);
  Outcome* poll = Ask(C::kPoll);
  Step(absl::Seconds(1));
  EXPECT_FALSE(caller->status.has_value());
  EXPECT_FALSE(poll->status.has_value());
  // The first step: 2 s ±20%, not the third (8 s) as if each answer of the
  // burst were a new 429.
  Step(absl::Milliseconds(1500));
  ASSERT_TRUE(caller->status.has_value()) << "still paused after 2.5 s";
  EXPECT_TRUE(caller->status->ok());
  // The probe after the pause gets 429 again: the next step, 4 s ±20%.
  budget_->OnRateLimited(std::nullopt);
  Outcome* next = Ask(C::kCaller);
  Step(absl::Seconds(3));
  EXPECT_FALSE(next->status.has_value());
  Step(absl::Milliseconds(2000));
  ASSERT_TRUE(next->status.has_value()) << "still paused 5 s after the probe's 429";
  EXPECT_TRUE(next->status->ok());
}

TEST_F(BudgetTest, RetryAfterIsHonouredExactly) {
  Make(PerMinute(600, 5));
  budget_->OnRateLimited(absl::Seconds(30));
  Outcome* caller = Ask(C::kCaller, absl::Minutes(5));
  Step(absl::Seconds(29));
  EXPECT_FALSE(caller->status.has_value());
  Step(absl::Milliseconds(1100));
  EXPECT_TRUE(caller->status.value().ok());
}

TEST_F(BudgetTest, TheRateRecoversSlowlyAfterA429) {
  RequestBudgetOptions o = PerMinute(1000, 5);
  o.recovery_time = absl::Minutes(10);
  Make(o);
  budget_->OnRateLimited(absl::Seconds(1));
  EXPECT_NEAR(budget_->requests_per_minute(), 500, 1e-6);
  Step(absl::Seconds(1));
  Step(absl::Minutes(2));
  EXPECT_NEAR(budget_->requests_per_minute(), 700, 1);
  Step(absl::Minutes(10));
  EXPECT_NEAR(budget_->requests_per_minute(), 1000, 1e-6);
}

// After a pause one request probes Leaf; the rest wait for its answer, not
// for the next token: with a slow Leaf, tokens at the lowered rate would
// otherwise send more requests into the limit before the probe's 429 came.
TEST_F(BudgetTest, AfterAPauseOneProbeGoesAndTheRestWaitForItsAnswer) {
  RequestBudgetOptions o = PerMinute(600, 5);
  o.first_cooldown = absl::Seconds(2);
  Make(o);
  budget_->OnRateLimited(absl::Seconds(1));
  std::vector<Outcome*> callers;
  for (int i = 0; i < 4; ++i) callers.push_back(Ask(C::kCaller));
  Step(absl::Milliseconds(1001));
  int granted = 0;
  for (Outcome* c : callers) granted += c->status.has_value();
  ASSERT_EQ(granted, 1) << "the pause ended: exactly one probe";
  EXPECT_TRUE(callers[0]->status->ok());
  // Leaf is slow to answer the probe: tokens accrue (5 a second at the
  // lowered rate) but nobody else goes.
  Step(absl::Milliseconds(900));
  granted = 0;
  for (Outcome* c : callers) granted += c->status.has_value();
  EXPECT_EQ(granted, 1) << "granted while the probe was out";
  // Its answer releases the others.
  budget_->OnAnswered();
  for (Outcome* c : callers) {
    ASSERT_TRUE(c->status.has_value());
    EXPECT_TRUE(c->status->ok());
  }
}

TEST_F(BudgetTest, AProbeWhoseAnswerNeverComesHoldsTheOthersForOneCooldownAtMost) {
  RequestBudgetOptions o = PerMinute(600, 5);
  o.first_cooldown = absl::Seconds(2);
  Make(o);
  budget_->OnRateLimited(absl::Seconds(1));
  Outcome* probe = Ask(C::kCaller);
  Outcome* next = Ask(C::kCaller);
  Step(absl::Milliseconds(1001));
  ASSERT_TRUE(probe->status.has_value());
  EXPECT_FALSE(next->status.has_value());
  Step(absl::Milliseconds(1900));
  EXPECT_FALSE(next->status.has_value());
  Step(absl::Milliseconds(200));
  ASSERT_TRUE(next->status.has_value()) << "held past the probe's cooldown";
  EXPECT_TRUE(next->status->ok());
}

// The probe ended without Leaf's answer (a network error, a cancel): that
// told nothing, so the next request probes alone again.
TEST_F(BudgetTest, AProbeThatEndsUnansweredIsFollowedByAnotherLoneProbe) {
  RequestBudgetOptions o = PerMinute(600, 5);
  o.first_cooldown = absl::Seconds(2);
  Make(o);
  budget_->OnRateLimited(absl::Seconds(1));
  std::vector<Outcome*> callers;
  for (int i = 0; i < 3; ++i) callers.push_back(Ask(C::kCaller));
  Step(absl::Milliseconds(1300));
  budget_->OnUnanswered();
  int granted = 0;
  for (Outcome* c : callers) granted += c->status.has_value();
  EXPECT_EQ(granted, 2) << "one probe, then exactly one more";
  Step(absl::Milliseconds(500));
  granted = 0;
  for (Outcome* c : callers) granted += c->status.has_value();
  EXPECT_EQ(granted, 2) << "granted while the second probe was out";
  budget_->OnAnswered();
  granted = 0;
  for (Outcome* c : callers) granted += c->status.has_value();
  EXPECT_EQ(granted, 3);
}

// Answers to requests sent before a pause come during it; they do not reset
// the steps (the next 429 is still the second step of this pause's run).
TEST_F(BudgetTest, AnAnswerDuringThePauseDoesNotResetTheSteps) {
  RequestBudgetOptions o = PerMinute(600, 5);
  o.first_cooldown = absl::Seconds(2);
  Make(o);
  budget_->OnRateLimited(std::nullopt);
  budget_->OnAnswered();  // sent before the pause, answered during it
  Step(absl::Milliseconds(2500));
  Outcome* probe = Ask(C::kCaller);
  ASSERT_TRUE(probe->status.has_value());
  budget_->OnRateLimited(std::nullopt);  // the probe's 429: 4 s +-20%
  Outcome* next = Ask(C::kCaller);
  Step(absl::Milliseconds(3100));
  EXPECT_FALSE(next->status.has_value()) << "the steps started over";
  Step(absl::Milliseconds(2000));
  EXPECT_TRUE(next->status.has_value());
}

TEST_F(BudgetTest, AnAnswerResetsTheCooldownSteps) {
  RequestBudgetOptions o = PerMinute(600, 5);
  o.first_cooldown = absl::Seconds(2);
  Make(o);
  budget_->OnRateLimited(std::nullopt);
  Step(absl::Seconds(3));
  budget_->OnAnswered();
  budget_->OnRateLimited(std::nullopt);  // first step again: about 2 s
  Outcome* caller = Ask(C::kCaller);
  Step(absl::Milliseconds(2500));
  EXPECT_TRUE(caller->status.has_value());
}

}  // namespace
}  // namespace leafsvc::budget
