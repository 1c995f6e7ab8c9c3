// The request budget on a fake clock (Poll() stands for the timer), plus
// one test on the real scheduler: grants never exceed the rate, classes
// come in priority order with the background floor, deadlines and the
// queue bound refuse honestly (LEAF_RATE_LIMITED with RetryInfo), a 429
// pauses everyone and lowers the rate once, which then recovers; after the
// pause one probe goes alone until it is answered.
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

namespace leafsvc::budget {
namespace {

using C = RequestClass;

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
  Outcome* Ask(C c, absl::Duration deadline = absl::Hours(1)) {
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

RequestBudgetOptions PerMinute(double rpm, int burst) {
  RequestBudgetOptions o;
  o.requests_per_minute = rpm;
  o.burst = burst;
  return o;
}

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
