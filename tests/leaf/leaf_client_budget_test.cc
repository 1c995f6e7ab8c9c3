// How the Leaf client lives within Leaf's request budget: identical reads in
// flight (GetCredentials of one user, its events) share one request, never
// across a write, a caller's own token, or a waiter's cancel; a request the
// budget refused before it left ends the call with the budget's answer, not
// counted as an attempt; background work never takes the last in-flight
// slots from callers.
#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "server/budget/budgeted_http_client.h"
#include "server/budget/request_budget.h"
#include "server/errors/status_details.h"
#include "server/leaf/leaf_client.h"
#include "server/platform/scheduler.h"
#include "server/providers/agleader/agleader_spec.h"
#include "tests/leaf/fake_http_client.h"
#include "tests/leaf/test_credentials.h"
#include "tests/leaf/test_token_sources.h"

namespace leafsvc::leaf {
namespace {

using ::leafsvc::testing::CountingTokenSource;
using ::leafsvc::testing::FakeHttpClient;
constexpr const char* kUser = ::leafsvc::testing::kTestUser;
constexpr const char* kCredentialsJson = ::leafsvc::testing::kTestCredentialsJson;

using Got = std::optional<absl::StatusOr<ProviderCredentials>>;

class LeafClientCoalescingTest : public ::testing::Test {
 protected:
  LeafClientCoalescingTest()
      : client_(&http_, &tokens_, LeafEndpoints("http://leaf", providers::AgLeaderSpec()),
                Options()) {}

  LeafClientOptions Options() {
    LeafClientOptions o;
    o.retry.max_attempts = 1;
    o.on_coalesced = [this] { ++coalesced_; };
    o.on_attempt = [this](const AttemptInfo&) { ++attempts_seen_; };
    return o;
  }

  std::shared_ptr<Cancellable> Get(Got* got,
                                   CallOptions options = CallOptions(absl::InfiniteFuture()),
                                   absl::string_view user = kUser) {
    if (options.deadline == absl::InfiniteFuture())
      options.deadline = absl::Now() + absl::Seconds(30);
    return client_.GetCredentials(user, options, [got](auto r) {
      ASSERT_FALSE(got->has_value()) << "ended twice";
      *got = std::move(r);
    });
  }

  FakeHttpClient http_;
  CountingTokenSource tokens_;
  int coalesced_ = 0;
  int attempts_seen_ = 0;
  LeafClient client_;
};

TEST_F(LeafClientCoalescingTest, ConcurrentGetsOfOneUserShareOneRequest) {
  Got a, b, c;
  CallStats stats_c;
  Get(&a);
  Get(&b);
  CallOptions with_stats(absl::Now() + absl::Seconds(60));
  with_stats.stats = &stats_c;
  Get(&c, with_stats);
  EXPECT_EQ(http_.requests().size(), 1u);
  EXPECT_EQ(coalesced_, 2);
  ASSERT_TRUE(http_.Respond(200, kCredentialsJson));
  for (Got* g : {&a, &b, &c}) {
    ASSERT_TRUE(g->has_value());
    ASSERT_TRUE((*g)->ok()) << (*g)->status();
    EXPECT_EQ((**g)->id, "c1");
  }
  // A joiner learns what the shared request cost.
  EXPECT_EQ(stats_c.attempts, 1);
  EXPECT_EQ(stats_c.last_http_status, 200);
  // Nothing is kept: the next read asks Leaf again.
  Got d;
  Get(&d);
  EXPECT_EQ(http_.requests().size(), 2u);
}

TEST_F(LeafClientCoalescingTest, UserIdsInAnyCaseAreOneRead) {
  Got a, b;
  Get(&a);
  std::string upper = kUser;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  Get(&b, CallOptions(absl::Now() + absl::Seconds(60)), upper);
  EXPECT_EQ(http_.requests().size(), 1u);
  ASSERT_TRUE(http_.Respond(200, kCredentialsJson));
  EXPECT_TRUE(a.has_value() && b.has_value());
}

TEST_F(LeafClientCoalescingTest, AReadAskedAfterAWriteNeverSharesAnOlderRead) {
  Got before, after;
  Get(&before);
  std::optional<absl::Status> deleted;
  client_.DeleteCredentials(kUser, absl::Now() + absl::Seconds(30),
                            [&](absl::Status s) { deleted = s; });
  Get(&after, CallOptions(absl::Now() + absl::Seconds(60)));
  ASSERT_EQ(http_.requests().size(), 3u);  // GET, DELETE, GET
  EXPECT_EQ(http_.requests()[2].method, "GET");
  EXPECT_EQ(coalesced_, 0);
  ASSERT_TRUE(http_.Respond(200, kCredentialsJson));  // the old read
  ASSERT_TRUE(before.has_value() && before->ok());
  EXPECT_FALSE(after.has_value());  // not answered from before the write
  ASSERT_TRUE(http_.Respond(204, ""));
  ASSERT_TRUE(http_.Respond(404, R"({"title":"Not Found","status":404})"));
  ASSERT_TRUE(after.has_value());
  EXPECT_FALSE(after->ok());
}

TEST_F(LeafClientCoalescingTest, OneWaitersCancelLeavesTheSharedRequestForTheOthers) {
  Got a, b;
  auto first = Get(&a);
  Get(&b);
  first->Cancel();
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(http_.cancelled(), 0);
  ASSERT_TRUE(http_.Respond(200, kCredentialsJson));
  ASSERT_TRUE(b.has_value());
  EXPECT_TRUE(b->ok()) << b->status();
}

TEST_F(LeafClientCoalescingTest, TheLastWaitersCancelCancelsTheRequest) {
  Got a, b;
  auto first = Get(&a);
  auto second = Get(&b);
  first->Cancel();
  second->Cancel();
  EXPECT_EQ(http_.cancelled(), 1);
  EXPECT_EQ(b->status().code(), absl::StatusCode::kCancelled);
}

TEST_F(LeafClientCoalescingTest, AReadWithTheCallersOwnTokenIsNeverShared) {
  Got a, b;
  Get(&a);
  CallOptions own(absl::Now() + absl::Seconds(60));
  own.leaf_token = Secret("callers-own-token");
  Get(&b, own);
  EXPECT_EQ(http_.requests().size(), 2u);
  EXPECT_EQ(coalesced_, 0);
}

TEST_F(LeafClientCoalescingTest, APollJoinsACallersReadButNeverHoldsACallerBack) {
  Got caller, poll;
  Get(&caller);
  CallOptions poll_options(absl::Now() + absl::Seconds(60));
  poll_options.priority = 2;
  Get(&poll, poll_options);
  EXPECT_EQ(http_.requests().size(), 1u);  // the poll joined the caller's read
  ASSERT_TRUE(http_.Respond(200, kCredentialsJson));
  EXPECT_TRUE(poll.has_value() && poll->ok());

  // A caller does not join a poll (which may wait long for the budget).
  Got first_poll, later_caller;
  Get(&first_poll, poll_options);
  Get(&later_caller, CallOptions(absl::Now() + absl::Seconds(90)));
  EXPECT_EQ(http_.requests().size(), 3u);
  EXPECT_EQ(coalesced_, 1);
}

TEST_F(LeafClientCoalescingTest, EventsOfOneUserShareOneRequest) {
  std::optional<absl::StatusOr<std::vector<CredentialEvent>>> a, b;
  client_.ListEvents(kUser, absl::Now() + absl::Seconds(30), [&](auto r) { a = std::move(r); });
  client_.ListEvents(kUser, absl::Now() + absl::Seconds(31), [&](auto r) { b = std::move(r); });
  EXPECT_EQ(http_.requests().size(), 1u);
  ASSERT_TRUE(http_.Respond(200, "[]"));
  ASSERT_TRUE(a.has_value() && a->ok());
  ASSERT_TRUE(b.has_value() && b->ok());
}

TEST_F(LeafClientCoalescingTest, ABudgetRefusalEndsTheCallAsIsAndIsNoAttempt) {
  Got a;
  CallStats stats;
  CallOptions options(absl::Now() + absl::Seconds(30));
  options.stats = &stats;
  Get(&a, options);
  StatusDetails d;
  d.retry_delay = absl::Seconds(7);
  absl::Status refusal =
      MakeError(reasons::kLeafRateLimited, "Leaf's request budget has no token in time", d);
  refusal.SetPayload(http::kNotSentPayload, absl::Cord("true"));
  ASSERT_TRUE(http_.Respond(refusal));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->status().code(), absl::StatusCode::kResourceExhausted);
  const StatusDetails got = GetStatusDetails(a->status());
  EXPECT_EQ(got.reason, "LEAF_RATE_LIMITED");
  ASSERT_TRUE(got.retry_delay.has_value());
  EXPECT_EQ(*got.retry_delay, absl::Seconds(7));
  EXPECT_FALSE(a->status().GetPayload(http::kNotSentPayload).has_value());
  // Nothing reached Leaf: health and metrics see no attempt.
  EXPECT_EQ(stats.attempts, 0);
  EXPECT_EQ(attempts_seen_, 0);
}

// Bulk work that can wait joined a caller's read; the budget refused that
// read a turn before the caller's (short) deadline. The bulk read is asked
// again with its own deadline instead of hearing the caller's refusal.
TEST_F(LeafClientCoalescingTest, ARefusalForTheSharedReadsDeadlineIsNotTheLaterWaitersAnswer) {
  Got caller, bulk;
  Get(&caller, CallOptions(absl::Now() + absl::Seconds(2)));
  CallOptions patient(absl::Now() + absl::Seconds(30));
  patient.priority = 3;
  Get(&bulk, patient);
  ASSERT_EQ(http_.requests().size(), 1u);
  EXPECT_EQ(coalesced_, 1);
  StatusDetails d;
  d.retry_delay = absl::Seconds(3);
  absl::Status refusal =
      MakeError(reasons::kLeafRateLimited, "no request free before the call's deadline", d);
  refusal.SetPayload(http::kNotSentPayload, absl::Cord("true"));
  refusal.SetPayload(http::kTooLatePayload, absl::Cord("true"));
  ASSERT_TRUE(http_.Respond(refusal));
  ASSERT_TRUE(caller.has_value());
  EXPECT_EQ(GetStatusDetails(caller->status()).reason, "LEAF_RATE_LIMITED");
  EXPECT_FALSE(bulk.has_value()) << "the bulk read heard the caller's refusal";
  ASSERT_EQ(http_.requests().size(), 2u) << "the bulk read was not asked again";
  EXPECT_GE(http_.requests()[1].deadline, absl::Now() + absl::Seconds(25));
  ASSERT_TRUE(http_.Respond(200, kCredentialsJson));
  ASSERT_TRUE(bulk.has_value());
  EXPECT_TRUE(bulk->ok()) << bulk->status();
}

// Polls and bulk reads wait long in the budget; they may hold three quarters
// of --max_upstream_in_flight, never the slots callers need.
TEST(LeafClientSlotsTest, BackgroundWorkLeavesAQuarterOfTheSlotsToCallers) {
  FakeHttpClient http;
  CountingTokenSource tokens;
  LeafClientOptions o;
  o.max_in_flight = 8;
  LeafClient client(&http, &tokens, LeafEndpoints("http://leaf", providers::AgLeaderSpec()), o);
  std::vector<Got> polls(7);
  for (int i = 0; i < 7; ++i) {
    CallOptions poll(absl::Now() + absl::Seconds(30));
    poll.priority = 2;
    char user[40];
    std::snprintf(user, sizeof(user), "3fa85f64-5717-4562-b3fc-2c963f66a%03d", i);
    client.GetCredentials(user, poll, [&polls, i](auto r) { polls[i] = std::move(r); });
  }
  EXPECT_EQ(http.requests().size(), 6u);
  ASSERT_TRUE(polls[6].has_value());
  EXPECT_EQ(GetStatusDetails(polls[6]->status()).reason, "TOO_MANY_CALLS_IN_FLIGHT");
  // A caller still gets a slot, and another.
  Got a, b;
  client.GetCredentials("3fa85f64-5717-4562-b3fc-2c963f66b001", absl::Now() + absl::Seconds(30),
                        [&](auto r) { a = std::move(r); });
  client.GetCredentials("3fa85f64-5717-4562-b3fc-2c963f66b002", absl::Now() + absl::Seconds(30),
                        [&](auto r) { b = std::move(r); });
  EXPECT_FALSE(a.has_value());
  EXPECT_FALSE(b.has_value());
  EXPECT_EQ(http.requests().size(), 8u);
  // A poll's slot comes back when it ends.
  ASSERT_TRUE(http.Respond(200, kCredentialsJson));
  Got again;
  CallOptions poll(absl::Now() + absl::Seconds(30));
  poll.priority = 2;
  client.GetCredentials("3fa85f64-5717-4562-b3fc-2c963f66c001", poll,
                        [&](auto r) { again = std::move(r); });
  EXPECT_FALSE(again.has_value());
  EXPECT_EQ(http.requests().size(), 9u);
  while (http.Respond(200, kCredentialsJson)) {
  }
}

// A poll's read that the budget already let go waits for no one: a caller
// asking for the same user joins it (one request to Leaf). A poll still
// queued in the budget is never joined by a caller (it could wait long).
TEST(LeafClientGrantedJoinTest, ACallerJoinsAPollOnceTheBudgetLetItGo) {
  FakeHttpClient http;
  budget::RequestBudgetOptions bo;
  bo.requests_per_minute = 60;
  bo.burst = 1;
  bo.background_min_share = 0;
  Scheduler scheduler;
  budget::RequestBudget budget(bo, &scheduler);
  budget::BudgetedHttpClient budgeted(&http, &budget, &scheduler);
  CountingTokenSource tokens;
  LeafClient client(&budgeted, &tokens, LeafEndpoints("http://leaf", providers::AgLeaderSpec()));
  CallOptions poll(absl::Now() + absl::Seconds(30));
  poll.priority = budget::PriorityOf(budget::RequestClass::kPoll);
  Got polled, caller;
  client.GetCredentials(kUser, poll, [&](auto r) { polled = std::move(r); });
  ASSERT_EQ(http.requests().size(), 1u);  // the burst token: sent
  client.GetCredentials(kUser, absl::Now() + absl::Seconds(60),
                        [&](auto r) { caller = std::move(r); });
  EXPECT_EQ(http.requests().size(), 1u) << "the caller should have joined the sent poll";
  ASSERT_TRUE(http.Respond(200, kCredentialsJson));
  EXPECT_TRUE(polled.has_value() && polled->ok());
  EXPECT_TRUE(caller.has_value() && caller->ok());

  // Now the bucket is empty: the next poll waits in the budget, and a
  // caller does not join it.
  Got queued_poll, other_caller;
  CallOptions poll2(absl::Now() + absl::Seconds(30));
  poll2.priority = budget::PriorityOf(budget::RequestClass::kPoll);
  client.GetCredentials(kUser, poll2, [&](auto r) { queued_poll = std::move(r); });
  client.GetCredentials(kUser, absl::Now() + absl::Seconds(60),
                        [&](auto r) { other_caller = std::move(r); });
  EXPECT_EQ(http.requests().size(), 1u);  // both wait for the budget
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (http.requests().size() < 2 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(5));
  ASSERT_EQ(http.requests().size(), 2u);  // the caller's own request went first (a second later)
  ASSERT_TRUE(http.Respond(200, kCredentialsJson));
  EXPECT_TRUE(other_caller.has_value() && other_caller->ok());
  EXPECT_FALSE(queued_poll.has_value());
  budget.Shutdown();
}

}  // namespace
}  // namespace leafsvc::leaf
