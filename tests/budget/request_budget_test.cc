// The request budget on a fake clock (Poll() stands for the timer), plus
// one test on the real scheduler: grants never exceed the rate, classes
// come in priority order with the background floor, deadlines and the
// queue bound refuse honestly (LEAF_RATE_LIMITED with RetryInfo). What a 429
// does is in request_budget_pause_test.cc.
#include "server/budget/request_budget.h"

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "server/errors/status_details.h"
#include "tests/budget/budget_fixture.h"

namespace leafsvc::budget {
namespace {

using C = RequestClass;
using ::leafsvc::budget::testing::BudgetTest;
using ::leafsvc::budget::testing::Outcome;
using ::leafsvc::budget::testing::PerMinute;

TEST_F(BudgetTest, UnlimitedGrantsEverythingAtOnce) {
  Make(PerMinute(0, 1));
  for (int i = 0; i < 1000; ++i) {
    Outcome* o = Ask(C::kBulk);
    ASSERT_TRUE(o->status.has_value());
    EXPECT_TRUE(o->status->ok());
  }
}

TEST_F(BudgetTest, TheBurstIsGrantedAtOnceThenOneTokenPerInterval) {
  Make(PerMinute(60, 3));  // one a second
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(Ask(C::kCaller)->status.value().ok());
  Outcome* fourth = Ask(C::kCaller);
  EXPECT_FALSE(fourth->status.has_value());
  Step(absl::Milliseconds(990));
  EXPECT_FALSE(fourth->status.has_value());
  Step(absl::Milliseconds(40));  // a token per 61/60 s (the minute's cap)
  ASSERT_TRUE(fourth->status.has_value());
  EXPECT_TRUE(fourth->status->ok());
}

TEST_F(BudgetTest, CallersGoFirstButBackgroundKeepsItsFloor) {
  RequestBudgetOptions o = PerMinute(600, 1);  // ten a second
  o.background_min_share = 0.10;
  Make(o);
  Ask(C::kCaller);  // the burst token
  std::vector<Outcome*> polls, callers;
  for (int i = 0; i < 100; ++i) polls.push_back(Ask(C::kPoll));
  for (int i = 0; i < 100; ++i) callers.push_back(Ask(C::kCaller));
  int poll_grants = 0, caller_grants = 0;
  for (int t = 0; t < 100; ++t) {
    Step(absl::Milliseconds(102));  // a token per 101.7 ms (61/60 of 100)
    poll_grants = caller_grants = 0;
    for (Outcome* p : polls) poll_grants += p->status.has_value();
    for (Outcome* c : callers) caller_grants += c->status.has_value();
    ASSERT_EQ(poll_grants + caller_grants, t + 1) << "one token per step, never more";
  }
  // 100 tokens: callers took most, background no less than its floor.
  EXPECT_GE(poll_grants, 9);
  EXPECT_LE(poll_grants, 15);
  EXPECT_EQ(caller_grants, 100 - poll_grants);
}

TEST_F(BudgetTest, ACallerWaitsAtMostOneTokenBehindBackgroundWork) {
  Make(PerMinute(600, 1));
  Ask(C::kBulk);  // burst token
  for (int i = 0; i < 50; ++i) Ask(C::kBulk);
  for (int i = 0; i < 50; ++i) Ask(C::kPoll);
  Outcome* caller = Ask(C::kCaller);
  Step(absl::Milliseconds(110));
  Step(absl::Milliseconds(110));
  ASSERT_TRUE(caller->status.has_value()) << "waited more than two tokens";
  EXPECT_TRUE(caller->status->ok());
}

TEST_F(BudgetTest, ACallerThatCannotBeServedInTimeIsRefusedAtOnceWithRetryInfo) {
  Make(PerMinute(60, 1));
  Ask(C::kCaller);
  for (int i = 0; i < 5; ++i) Ask(C::kCaller);  // five seconds of queue
  Outcome* late = Ask(C::kCaller, absl::Seconds(2));
  ASSERT_TRUE(late->status.has_value());
  EXPECT_EQ(late->status->code(), absl::StatusCode::kResourceExhausted);
  const StatusDetails d = GetStatusDetails(*late->status);
  EXPECT_EQ(d.reason, "LEAF_RATE_LIMITED");
  ASSERT_TRUE(d.retry_delay.has_value());
  EXPECT_GE(*d.retry_delay, absl::Seconds(5));
  EXPECT_LE(*d.retry_delay, absl::Seconds(7));
}

// A waiter is refused as soon as it is certain that no token can be its
// before its deadline (here: the callers took the token, the next comes
// after it), not at the deadline itself, when the caller's own deadline
// would beat the refusal and hide its RetryInfo.
TEST_F(BudgetTest, AWaiterThatCanNoLongerBeServedInTimeIsRefusedAtOnce) {
  RequestBudgetOptions o = PerMinute(60, 1);
  o.background_min_share = 0;  // callers always first here
  Make(o);
  Ask(C::kCaller);
  const absl::Time asked = clock_.Now();
  Outcome* poll = Ask(C::kPoll, absl::Milliseconds(1500));
  // Callers arriving later take the tokens first.
  Ask(C::kCaller);
  Ask(C::kCaller);
  Step(absl::Milliseconds(500));
  EXPECT_FALSE(poll->status.has_value());
  Step(absl::Milliseconds(600));  // a caller got the token; the next is after 2 s
  ASSERT_TRUE(poll->status.has_value());
  EXPECT_EQ(GetStatusDetails(*poll->status).reason, "LEAF_RATE_LIMITED");
  EXPECT_LT(poll->at, asked + absl::Milliseconds(1500));
  EXPECT_TRUE(GetStatusDetails(*poll->status).retry_delay.has_value());
}

TEST_F(BudgetTest, TheQueueIsBounded) {
  RequestBudgetOptions o = PerMinute(60, 1);
  o.max_waiting = 3;
  Make(o);
  Ask(C::kBulk);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(Ask(C::kBulk)->status.has_value());
  Outcome* fourth = Ask(C::kBulk);
  ASSERT_TRUE(fourth->status.has_value());
  EXPECT_EQ(GetStatusDetails(*fourth->status).reason, "LEAF_RATE_LIMITED");
}

TEST_F(BudgetTest, CancelEndsTheWaitOnceAndFreesTheSlot) {
  Make(PerMinute(60, 1));
  Ask(C::kCaller);
  Outcome* waiting = Ask(C::kPoll);
  budget_->Cancel(last_ticket_);
  ASSERT_TRUE(waiting->status.has_value());
  EXPECT_EQ(waiting->status->code(), absl::StatusCode::kCancelled);
  budget_->Cancel(last_ticket_);  // twice: nothing
  Outcome* next = Ask(C::kPoll);
  Step(absl::Milliseconds(1100));
  EXPECT_TRUE(next->status.value().ok()) << "the cancelled waiter's token went to the next";
}

// A bucket alone lets its burst plus a minute's refill through in some 60 s
// (here 20 + 60); Leaf counts a sliding minute, so no 60 s may ever hold
// more grants than the budget.
TEST_F(BudgetTest, NoSixtySecondsEverHoldMoreGrantsThanTheBudget) {
  RequestBudgetOptions o = PerMinute(60, 20);
  Make(o);
  std::vector<Outcome*> asked;
  for (int i = 0; i < 150; ++i) asked.push_back(Ask(C::kCaller, absl::Hours(1)));
  for (int i = 0; i < 1500; ++i) Step(absl::Milliseconds(100));
  std::vector<absl::Time> grants;
  for (Outcome* o : asked) {
    if (o->status.has_value() && o->status->ok()) grants.push_back(o->at);
  }
  std::sort(grants.begin(), grants.end());
  ASSERT_GT(grants.size(), 100u) << "the budget must still spend what it has";
  for (size_t i = 0; i < grants.size(); ++i) {
    size_t in_minute = 0;
    for (size_t j = i; j < grants.size() && grants[j] < grants[i] + absl::Seconds(60); ++j) {
      ++in_minute;
    }
    ASSERT_LE(in_minute, 60u) << "a minute from grant " << i;
  }
}

// Background work that fills Leaf's minute must not make a caller wait for
// the minute to roll over: the minute's last requests are callers'.
TEST_F(BudgetTest, BackgroundWorkNeverFillsTheMinuteForCallers) {
  RequestBudgetOptions o = PerMinute(60, 60);  // the whole minute at hand
  Make(o);
  std::vector<Outcome*> polls;
  for (int i = 0; i < 100; ++i) polls.push_back(Ask(C::kPoll, absl::Hours(1)));
  int granted = 0;
  for (Outcome* p : polls) granted += p->status.has_value() && p->status->ok() ? 1 : 0;
  EXPECT_EQ(granted, 54) << "60 a minute less the callers' 6";
  Outcome* caller = Ask(C::kCaller, absl::Seconds(5));
  ASSERT_TRUE(caller->status.has_value()) << "waited for the minute to roll over";
  EXPECT_TRUE(caller->status->ok());
  EXPECT_EQ(caller->at, clock_.Now());
}

// Under minutes of sustained background load, with callers asking for half
// the budget, a caller waits about one token at any time: the minute's cap
// and the callers' reserve of it never hold a caller for the minute to roll
// over.
TEST_F(BudgetTest, SaturatedForMinutesACallerNeverWaitsForTheMinuteToRollOver) {
  RequestBudgetOptions o = PerMinute(600, 10);  // about ten a second
  Make(o);
  for (int i = 0; i < 3000; ++i) Ask(C::kPoll, absl::Hours(1));
  absl::Duration worst = absl::ZeroDuration();
  std::vector<std::pair<absl::Time, Outcome*>> callers;
  for (int step = 0; step < 2600; ++step) {  // 130 s
    if (step % 4 == 1) callers.push_back({clock_.Now(), Ask(C::kCaller, absl::Seconds(10))});
    Step(absl::Milliseconds(50));
  }
  for (const auto& [asked, caller] : callers) {
    ASSERT_TRUE(caller->status.has_value());
    ASSERT_TRUE(caller->status->ok()) << *caller->status;
    worst = std::max(worst, caller->at - asked);
  }
  std::printf("worst caller wait over 130 s of saturation: %s\n",
              absl::FormatDuration(worst).c_str());
  EXPECT_LE(worst, absl::Milliseconds(300));
}

// Polls waiting without end (a poll queue deeper than the budget) never
// starve bulk work: it gets its share of the floor, and its estimate says so
// instead of refusing it for the whole poll queue ahead.
TEST_F(BudgetTest, PollsNeverStarveBulkWork) {
  RequestBudgetOptions o = PerMinute(600, 1);  // 10 a second
  o.background_min_share = 0.10;
  Make(o);
  for (int i = 0; i < 500; ++i) Ask(C::kPoll, absl::Hours(1));
  std::vector<Outcome*> bulk;
  for (int i = 0; i < 5; ++i) bulk.push_back(Ask(C::kBulk, absl::Seconds(30)));
  for (Outcome* b : bulk) EXPECT_FALSE(b->status.has_value()) << "refused behind the poll queue";
  for (int i = 0; i < 300; ++i) Step(absl::Milliseconds(100));
  int granted = 0;
  for (Outcome* b : bulk) granted += b->status.has_value() && b->status->ok() ? 1 : 0;
  EXPECT_EQ(granted, 5);
}

// A background class that already had more than its floor of the recent
// grants (here: the burst went to bulk work) waits until its share falls
// below the floor while callers take every grant: its estimate says so, so
// a batch with too short a deadline is refused at once with the true wait
// instead of being held until its deadline.
TEST_F(BudgetTest, ABackgroundEstimateCountsTheShareItAlreadyHad) {
  RequestBudgetOptions o = PerMinute(240, 20);  // 4 a second
  o.background_min_share = 0.10;
  Make(o);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Ask(C::kBulk)->status.has_value());
  for (int i = 0; i < 500; ++i) Ask(C::kCaller);
  // 20 bulk grants in the window of 50: bulk is next served after 46 caller
  // grants (the window full, 16 of its bulk grants aged out), about 12 s.
  const absl::Duration estimate = budget_->EstimatedWait(C::kBulk);
  Outcome* impatient = Ask(C::kBulk, absl::Seconds(6));
  ASSERT_TRUE(impatient->status.has_value()) << "held although its deadline comes first";
  EXPECT_EQ(GetStatusDetails(*impatient->status).reason, "LEAF_RATE_LIMITED");
  Outcome* bulk = Ask(C::kBulk, absl::Minutes(1));
  const absl::Time asked = clock_.Now();
  for (int i = 0; i < 400 && !bulk->status.has_value(); ++i) Step(absl::Milliseconds(50));
  ASSERT_TRUE(bulk->status.has_value() && bulk->status->ok());
  const absl::Duration waited = bulk->at - asked;
  std::printf("bulk estimate %s, waited %s\n", absl::FormatDuration(estimate).c_str(),
              absl::FormatDuration(waited).c_str());
  EXPECT_GE(estimate, waited - absl::Milliseconds(600));
  EXPECT_LE(estimate, waited + absl::Milliseconds(600));
}

TEST_F(BudgetTest, ShutdownEndsEveryWaitAndRefusesNewOnes) {
  Make(PerMinute(60, 1));
  Ask(C::kCaller);
  Outcome* waiting = Ask(C::kBulk);
  budget_->Shutdown();
  EXPECT_EQ(GetStatusDetails(waiting->status.value()).reason, "SHUTTING_DOWN");
  EXPECT_EQ(GetStatusDetails(Ask(C::kCaller)->status.value()).reason, "SHUTTING_DOWN");
}

// Seeded random arrivals of every class over ten simulated minutes: no
// window of 60 s ever sees more grants than the rate plus the burst, and
// every waiter ends exactly once. LEAF_BUDGET_SEED replays a run.
TEST_F(BudgetTest, RandomMixesNeverExceedTheBudget) {
  const char* env = std::getenv("LEAF_BUDGET_SEED");
  const unsigned seed =
      env ? static_cast<unsigned>(std::strtoul(env, nullptr, 10)) : std::random_device{}();
  std::printf("LEAF_BUDGET_SEED=%u\n", seed);
  std::mt19937 rng(seed);
  RequestBudgetOptions o = PerMinute(120, 10);
  o.max_waiting = 200;
  Make(o);
  std::vector<absl::Time> grants;
  int asked = 0;
  for (int step = 0; step < 6000; ++step) {  // 100 ms steps
    const int arrivals = std::uniform_int_distribution<int>(0, 3)(rng);
    for (int a = 0; a < arrivals; ++a) {
      ++asked;
      const C c = static_cast<C>(std::uniform_int_distribution<int>(0, 3)(rng));
      const absl::Duration deadline =
          absl::Milliseconds(std::uniform_int_distribution<int>(1, 120000)(rng));
      outcomes_.emplace_back();
      Outcome* out = &outcomes_.back();
      budget_->Acquire(c, clock_.Now() + deadline, [&, out](absl::Status s) {
        ASSERT_FALSE(out->status.has_value());
        out->status = s;
        if (!s.ok()) return;
        grants.push_back(clock_.Now());
        // Now and then Leaf says 429 (with or without Retry-After).
        const int roll = std::uniform_int_distribution<int>(0, 299)(rng);
        if (roll == 0) {
          budget_->OnRateLimited(std::nullopt);
        } else if (roll == 1) {
          budget_->OnRateLimited(absl::Seconds(std::uniform_int_distribution<int>(0, 20)(rng)));
        } else {
          budget_->OnAnswered();
        }
      });
    }
    Step(absl::Milliseconds(100));
  }
  Step(absl::Minutes(5));
  int ended = 0;
  for (const Outcome& out : outcomes_) ended += out.status.has_value();
  EXPECT_EQ(ended, asked) << "seed " << seed;
  size_t lo = 0;
  for (size_t hi = 0; hi < grants.size(); ++hi) {
    while (grants[hi] - grants[lo] >= absl::Seconds(60)) ++lo;
    ASSERT_LE(hi - lo + 1, 120u + 10u) << "seed " << seed << " at grant " << hi;
  }
  EXPECT_GT(grants.size(), 300u) << "seed " << seed;
}

TEST(RequestBudgetSchedulerTest, TheTimerGrantsWaitersWithoutAPoll) {
  Scheduler scheduler;
  RequestBudget budget(PerMinute(600, 1), &scheduler);
  absl::Notification done;
  std::atomic<int> granted{0};
  for (int i = 0; i < 4; ++i) {
    budget.Acquire(C::kCaller, absl::Now() + absl::Seconds(30), [&](absl::Status s) {
      EXPECT_TRUE(s.ok()) << s;
      if (granted.fetch_add(1) + 1 == 4) done.Notify();
    });
  }
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

TEST(RequestBudgetSchedulerTest, DestroyingTheBudgetRefusesWaitersAndStopsItsTimers) {
  Scheduler scheduler;
  std::atomic<int> shut{0};
  {
    RequestBudget budget(PerMinute(1, 1), &scheduler);
    budget.Acquire(C::kCaller, absl::Now() + absl::Hours(1), [](absl::Status) {});
    for (int i = 0; i < 3; ++i) {
      budget.Acquire(C::kPoll, absl::Now() + absl::Hours(1), [&](absl::Status s) {
        if (GetStatusDetails(s).reason == "SHUTTING_DOWN") shut.fetch_add(1);
      });
    }
  }
  EXPECT_EQ(shut.load(), 3);
}

}  // namespace
}  // namespace leafsvc::budget
