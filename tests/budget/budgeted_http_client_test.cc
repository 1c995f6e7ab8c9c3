// The budgeted HTTP client over a fake transport and a budget on a fake
// clock: nothing leaves before its grant, refusals and cancels end the
// request once without sending it, a sent request is cancelled in the
// transport, priorities pick the order, and Leaf's 429 pauses the budget.
#include "server/budget/budgeted_http_client.h"

#include <optional>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "server/errors/status_details.h"
#include "tests/leaf/fake_http_client.h"

namespace leafsvc::budget {
namespace {

class BudgetedHttpClientTest : public ::testing::Test {
 protected:
  void Make(double rpm, int burst) {
    RequestBudgetOptions o;
    o.requests_per_minute = rpm;
    o.burst = burst;
    o.background_min_share = 0;
    o.first_cooldown = absl::Seconds(2);
    budget_ = std::make_unique<RequestBudget>(o, nullptr, [this] { return now_; });
    client_ = std::make_unique<BudgetedHttpClient>(&inner_, budget_.get());
  }
  // Sends a GET whose path names it; records its outcome.
  http::TransferId Send(const std::string& name, RequestClass c,
                        absl::Duration deadline = absl::Hours(1)) {
    http::HttpRequest r;
    r.method = "GET";
    r.url = "https://leaf.test/" + name;
    r.priority = PriorityOf(c);
    r.deadline = now_ + deadline;
    outcomes_.emplace_back();
    auto* out = &outcomes_.back();
    return client_->Send(std::move(r), [out](absl::StatusOr<http::HttpResponse> got) {
      ASSERT_FALSE(out->has_value()) << "ended twice";
      *out = got.ok() ? absl::Status() : got.status();
    });
  }
  std::vector<std::string> Sent() const {
    std::vector<std::string> names;
    for (const http::HttpRequest& r : inner_.requests()) names.push_back(r.url.substr(18));
    return names;
  }
  void Advance(absl::Duration d) {
    now_ += d;
    budget_->Poll();
  }

  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  testing::FakeHttpClient inner_;
  std::deque<std::optional<absl::Status>> outcomes_;
  std::unique_ptr<RequestBudget> budget_;
  std::unique_ptr<BudgetedHttpClient> client_;
};

TEST_F(BudgetedHttpClientTest, NothingLeavesBeforeItsGrant) {
  Make(60, 1);
  Send("a", RequestClass::kCaller);
  Send("b", RequestClass::kCaller);
  Send("c", RequestClass::kCaller);
  EXPECT_EQ(Sent(), std::vector<std::string>{"a"});
  Advance(absl::Milliseconds(1020));  // 61/60 s a token
  EXPECT_EQ(Sent(), (std::vector<std::string>{"a", "b"}));
  Advance(absl::Milliseconds(1020));  // 61/60 s a token
  EXPECT_EQ(Sent(), (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(BudgetedHttpClientTest, HigherPrioritiesLeaveFirst) {
  Make(60, 1);
  Send("first", RequestClass::kBulk);
  Send("bulk", RequestClass::kBulk);
  Send("poll", RequestClass::kPoll);
  Send("caller", RequestClass::kCaller);
  Advance(absl::Milliseconds(1020));  // 61/60 s a token
  Advance(absl::Milliseconds(1020));  // 61/60 s a token
  Advance(absl::Milliseconds(1020));  // 61/60 s a token
  EXPECT_EQ(Sent(), (std::vector<std::string>{"first", "caller", "poll", "bulk"}));
}

TEST_F(BudgetedHttpClientTest, ARefusalEndsTheRequestWithoutSendingIt) {
  Make(60, 1);
  Send("a", RequestClass::kCaller);
  Send("late", RequestClass::kCaller, absl::Milliseconds(300));
  ASSERT_TRUE(outcomes_[1].has_value());
  EXPECT_EQ(outcomes_[1]->code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(GetStatusDetails(*outcomes_[1]).reason, "LEAF_RATE_LIMITED");
  EXPECT_TRUE(GetStatusDetails(*outcomes_[1]).retry_delay.has_value());
  EXPECT_EQ(Sent(), std::vector<std::string>{"a"});
  // Marked as never sent, so that the Leaf client passes it on as is.
  EXPECT_TRUE(outcomes_[1]->GetPayload(http::kNotSentPayload).has_value());
}

// Callers of an HttpClient may hold their own lock around Send (the Leaf
// client's exchange does): a refusal known at once must come later, from
// the scheduler, never inside Send.
TEST_F(BudgetedHttpClientTest, ARefusalKnownAtOnceNeverRunsInsideSend) {
  Scheduler scheduler;
  Make(60, 1);
  client_ = std::make_unique<BudgetedHttpClient>(&inner_, budget_.get(), &scheduler);
  Send("a", RequestClass::kCaller);
  absl::Mutex mu;
  absl::Notification ended;
  {
    absl::MutexLock lock(&mu);  // what the caller holds around Send
    http::HttpRequest r;
    r.method = "GET";
    r.url = "https://leaf.test/late";
    r.deadline = now_ + absl::Milliseconds(300);
    client_->Send(std::move(r), [&](absl::StatusOr<http::HttpResponse> got) {
      absl::MutexLock relock(&mu);  // deadlocks if run inside Send
      EXPECT_EQ(GetStatusDetails(got.status()).reason, "LEAF_RATE_LIMITED");
      ended.Notify();
    });
    EXPECT_FALSE(ended.HasBeenNotified());
  }
  EXPECT_TRUE(ended.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(Sent(), std::vector<std::string>{"a"});
}

TEST_F(BudgetedHttpClientTest, CancellingAWaitingRequestEndsItOnceAndSendsNothing) {
  Make(60, 1);
  Send("a", RequestClass::kCaller);
  const http::TransferId waiting = Send("b", RequestClass::kCaller);
  client_->Cancel(waiting);
  ASSERT_TRUE(outcomes_[1].has_value());
  EXPECT_EQ(outcomes_[1]->code(), absl::StatusCode::kCancelled);
  client_->Cancel(waiting);
  Advance(absl::Seconds(5));
  EXPECT_EQ(Sent(), std::vector<std::string>{"a"});
}

TEST_F(BudgetedHttpClientTest, CancellingASentRequestCancelsTheTransfer) {
  Make(60, 1);
  const http::TransferId sent = Send("a", RequestClass::kCaller);
  client_->Cancel(sent);
  ASSERT_TRUE(outcomes_[0].has_value());
  EXPECT_EQ(outcomes_[0]->code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(inner_.pending(), 0u);
}

TEST_F(BudgetedHttpClientTest, Leafs429PausesEveryRequestUntilRetryAfter) {
  Make(600, 5);
  Send("a", RequestClass::kCaller);
  ASSERT_TRUE(inner_.Respond(429, R"({"error":"Request limit exceeded","status_code":429})",
                             {{"retry-after", "10"}}));
  ASSERT_TRUE(outcomes_[0].value().ok()) << "the 429 itself reaches the caller as an answer";
  Send("b", RequestClass::kCaller);
  Advance(absl::Seconds(9));
  EXPECT_EQ(Sent(), std::vector<std::string>{"a"}) << "tokens were left, but Leaf said wait";
  Advance(absl::Seconds(2));
  EXPECT_EQ(Sent(), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace leafsvc::budget
