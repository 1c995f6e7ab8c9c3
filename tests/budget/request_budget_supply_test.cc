// The request budget in fleet mode (UseSupply), on a fake clock with a
// supply answered by hand: tokens come only from the shared supply while it
// answers, in batches for the waiters, lapse when unused, and the fleet's
// wait refuses honestly; a failing supply falls back to this replica's own
// bucket (its share) and is probed again every second; a 429 reaches the
// fleet; answers arriving after the budget is gone are ignored.
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "gtest/gtest.h"
#include "server/budget/request_budget.h"
#include "server/errors/status_details.h"

namespace leafsvc::budget {
namespace {

using C = RequestClass;

class FakeSupply final : public TokenSupply {
 public:
  struct Ask {
    int n;
    bool background;
    Done done;
  };
  void Take(int n, bool background, Done done) override {
    asks.push_back({n, background, std::move(done)});
  }
  void OnRateLimited(std::optional<absl::Duration> retry_after) override {
    limited.push_back(retry_after);
  }
  void OnAnswered() override { ++answered; }

  // Answers the oldest ask.
  void Answer(absl::StatusOr<Tokens> tokens) {
    ASSERT_FALSE(asks.empty());
    Ask ask = std::move(asks.front());
    asks.pop_front();
    ask.done(std::move(tokens));
  }

  std::deque<Ask> asks;
  std::vector<std::optional<absl::Duration>> limited;
  int answered = 0;
};

class SupplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RequestBudgetOptions share;  // this replica's share: 100/min, burst 2
    share.requests_per_minute = 100;
    share.burst = 2;
    budget_ = std::make_unique<RequestBudget>(share, nullptr, [this] { return now_; });
    budget_->UseSupply(&supply_);
  }
  std::optional<absl::Status>* Ask(C c, absl::Duration deadline = absl::Hours(1)) {
    outcomes_.emplace_back();
    auto* o = &outcomes_.back();
    budget_->Acquire(c, now_ + deadline, [o](absl::Status s) {
      ASSERT_FALSE(o->has_value()) << "granted twice";
      *o = std::move(s);
    });
    return o;
  }
  TokenSupply::Tokens Tokens(int granted, absl::Duration wait = absl::ZeroDuration()) {
    return {granted, wait, 1000};
  }

  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  FakeSupply supply_;
  std::unique_ptr<RequestBudget> budget_;
  std::deque<std::optional<absl::Status>> outcomes_;
};

TEST_F(SupplyTest, NothingIsGrantedWithoutTheFleetsTokens) {
  // The local bucket holds a burst of 2, but fleet mode spends only what
  // the fleet granted.
  auto* a = Ask(C::kCaller);
  auto* b = Ask(C::kPoll);
  EXPECT_FALSE(a->has_value());
  EXPECT_FALSE(b->has_value());
  ASSERT_EQ(supply_.asks.size(), 1u);
  EXPECT_EQ(supply_.asks[0].n, 1);  // one waiter when asked
  EXPECT_FALSE(supply_.asks[0].background);
  supply_.Answer(Tokens(1));
  budget_->Poll();
  ASSERT_TRUE(a->has_value());
  EXPECT_TRUE(a->value().ok());
  EXPECT_FALSE(b->has_value());
  // The poll's ask is a background one: no caller waits.
  ASSERT_EQ(supply_.asks.size(), 1u);
  EXPECT_TRUE(supply_.asks[0].background);
  supply_.Answer(Tokens(1));
  budget_->Poll();
  ASSERT_TRUE(b->has_value());
  EXPECT_TRUE(b->value().ok());
  EXPECT_TRUE(budget_->supply_up());
  EXPECT_DOUBLE_EQ(budget_->requests_per_minute(), 1000);
}

TEST_F(SupplyTest, AsksForTheWaitersInOneBatchAndSpendsLeftoversOnlyBriefly) {
  std::vector<std::optional<absl::Status>*> w;
  for (int i = 0; i < 30; ++i) w.push_back(Ask(C::kPoll));
  ASSERT_EQ(supply_.asks.size(), 1u);
  EXPECT_EQ(supply_.asks[0].n, 1);
  supply_.Answer(Tokens(1));
  budget_->Poll();
  ASSERT_EQ(supply_.asks.size(), 1u);
  EXPECT_EQ(supply_.asks[0].n, 20);  // at most 20 at once
  supply_.Answer(Tokens(20));
  budget_->Poll();
  int granted = 0;
  for (auto* o : w) granted += o->has_value() && (*o)->ok();
  EXPECT_EQ(granted, 21);
  supply_.Answer(Tokens(9));  // for the 9 left
  budget_->Poll();
  granted = 0;
  for (auto* o : w) granted += o->has_value() && (*o)->ok();
  EXPECT_EQ(granted, 30);
  EXPECT_TRUE(supply_.asks.empty());
}

TEST_F(SupplyTest, LeftoverTokensLapse) {
  auto* a = Ask(C::kCaller);
  supply_.Answer(Tokens(1));
  budget_->Poll();
  ASSERT_TRUE(a->has_value());
  // A grant larger than needed: one token left over.
  auto* b = Ask(C::kCaller);
  ASSERT_EQ(supply_.asks.size(), 1u);
  supply_.Answer(Tokens(1));
  budget_->Poll();
  ASSERT_TRUE(b->has_value());
  auto* c = Ask(C::kCaller);
  supply_.Answer(Tokens(1));  // c granted, none left
  budget_->Poll();
  ASSERT_TRUE(c->has_value());
  // Give two for one waiter, then wait 2 s: the spare one is gone.
  auto* d = Ask(C::kCaller);
  supply_.Answer(Tokens(2));
  budget_->Poll();
  ASSERT_TRUE(d->has_value());
  now_ += absl::Seconds(2);
  auto* e = Ask(C::kCaller);
  EXPECT_FALSE(e->has_value()) << "a lapsed token was spent";
  ASSERT_EQ(supply_.asks.size(), 1u);
  supply_.Answer(Tokens(1));
  budget_->Poll();
  EXPECT_TRUE(e->has_value());
}

TEST_F(SupplyTest, TheFleetsWaitRefusesWhatCannotMakeItsDeadline) {
  auto* a = Ask(C::kCaller, absl::Seconds(1));
  supply_.Answer(Tokens(0, absl::Seconds(5)));  // the fleet is paused 5 s
  budget_->Poll();
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ(GetStatusDetails(**a).reason, "LEAF_RATE_LIMITED");
  ASSERT_TRUE(GetStatusDetails(**a).retry_delay.has_value());
  EXPECT_GE(*GetStatusDetails(**a).retry_delay, absl::Seconds(4));
  EXPECT_NE(a->value().message().find("fleet's budget"), std::string::npos);
  // No ask before the fleet's wait is over; then one.
  auto* b = Ask(C::kCaller, absl::Minutes(1));
  EXPECT_TRUE(supply_.asks.empty());
  now_ += absl::Seconds(5);
  budget_->Poll();
  ASSERT_EQ(supply_.asks.size(), 1u);
  supply_.Answer(Tokens(1));
  budget_->Poll();
  ASSERT_TRUE(b->has_value());
  EXPECT_TRUE(b->value().ok());
}

TEST_F(SupplyTest, ASupplyDownFallsBackToTheLocalShareAndComesBack) {
  auto* a = Ask(C::kCaller);
  supply_.Answer(absl::UnavailableError("Redis is down"));
  budget_->Poll();
  // The local bucket (burst 2 at 100/min) serves meanwhile.
  ASSERT_TRUE(a->has_value());
  EXPECT_TRUE(a->value().ok());
  EXPECT_FALSE(budget_->supply_up());
  EXPECT_DOUBLE_EQ(budget_->requests_per_minute(), 100);
  auto* b = Ask(C::kCaller);
  EXPECT_TRUE(b->has_value());  // the bucket's second token
  auto* c = Ask(C::kCaller, absl::Hours(1));
  EXPECT_FALSE(c->has_value());  // the share's pace: 100/min
  EXPECT_TRUE(supply_.asks.empty()) << "probed again before a second passed";
  // A second later the supply is probed with one token.
  now_ += absl::Seconds(1);
  budget_->Poll();
  ASSERT_EQ(supply_.asks.size(), 1u);
  EXPECT_EQ(supply_.asks[0].n, 1);
  supply_.Answer(Tokens(1));
  budget_->Poll();
  EXPECT_TRUE(budget_->supply_up());
  ASSERT_TRUE(c->has_value());
  EXPECT_TRUE(c->value().ok());
}

TEST_F(SupplyTest, A429PausesTheFleetAndAnswersResetIt) {
  budget_->OnRateLimited(absl::Seconds(3));
  ASSERT_EQ(supply_.limited.size(), 1u);
  EXPECT_EQ(supply_.limited[0], absl::Seconds(3));
  // This replica pauses too: no ask during its own pause.
  auto* a = Ask(C::kCaller);
  EXPECT_TRUE(supply_.asks.empty());
  now_ += absl::Seconds(3);
  budget_->Poll();
  ASSERT_EQ(supply_.asks.size(), 1u);
  supply_.Answer(Tokens(1));
  budget_->Poll();
  EXPECT_TRUE(a->has_value());
  budget_->OnAnswered();
  EXPECT_EQ(supply_.answered, 1);
}

TEST_F(SupplyTest, AnAnswerAfterTheBudgetIsGoneIsIgnored) {
  Ask(C::kCaller);
  ASSERT_EQ(supply_.asks.size(), 1u);
  budget_.reset();  // the waiter is refused SHUTTING_DOWN
  ASSERT_TRUE(outcomes_.front().has_value());
  EXPECT_EQ(GetStatusDetails(*outcomes_.front()).reason, "SHUTTING_DOWN");
  supply_.Answer(Tokens(1));  // must not touch the destroyed budget
}

}  // namespace
}  // namespace leafsvc::budget
