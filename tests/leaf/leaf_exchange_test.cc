// The exchange's state machine, event by event: every interleaving of a
// cancel, an abort, a timer and a response ends the call exactly once.
#include "server/leaf/leaf_exchange.h"

#include <atomic>
#include <memory>
#include <optional>

#include "gtest/gtest.h"
#include "server/errors/status_details.h"
#include "server/leaf/leaf_client.h"
#include "server/providers/agleader/agleader_spec.h"
#include "tests/leaf/fake_http_client.h"
#include "tests/leaf/test_credentials.h"
#include "tests/leaf/test_token_sources.h"

namespace leafsvc::leaf {
namespace {

using ::leafsvc::testing::FakeHttpClient;

using RotatingTokens = ::leafsvc::testing::CountingTokenSource;
using PendingTokens = ::leafsvc::testing::PendingTokenSource;
constexpr const char* kUser = ::leafsvc::testing::kTestUser;
constexpr const char* kCredentialsJson = ::leafsvc::testing::kTestCredentialsJson;

// Written by whichever thread completes the call, read by the test.
struct Outcome {
  std::atomic<int> calls{0};
  absl::Status status;  // written before `calls` is incremented
};

class LeafExchangeTest : public ::testing::Test {
 protected:
  LeafClientOptions Options() {
    LeafClientOptions o;
    o.retry.max_attempts = 3;
    o.scheduler = &scheduler_;
    o.random = [] { return 0.0; };
    return o;
  }

  std::shared_ptr<Cancellable> Get(LeafClient& client, std::shared_ptr<Outcome> out,
                                   absl::Duration timeout = absl::Seconds(30),
                                   const char* user = kUser) {
    return client.GetCredentials(user, absl::Now() + timeout,
                                 [out](absl::StatusOr<ProviderCredentials> r) {
                                   out->status = r.status();
                                   out->calls.fetch_add(1);
                                 });
  }

  static bool WaitFor(const std::function<bool()>& cond) {
    const absl::Time until = absl::Now() + absl::Seconds(5);
    while (!cond()) {
      if (absl::Now() > until) return false;
      absl::SleepFor(absl::Milliseconds(1));
    }
    return true;
  }

  Scheduler scheduler_;
  FakeHttpClient http_;
  RotatingTokens tokens_;
};

// The finding: a Cancel that lands after the transport handed over the
// response (so there is no transfer left to cancel) and before the response
// is handled. Whatever the response asks for next (re-login, retry), the
// call must end, once, as CANCELLED, and send nothing more.
TEST_F(LeafExchangeTest, CancelBetweenResponseReceivedAndHandledEndsTheCallOnce) {
  struct Case {
    const char* name;
    absl::StatusOr<http::HttpResponse> response;
  };
  auto answer = [](int status) {
    http::HttpResponse r;
    r.status_code = status;
    if (status == 200) r.body = kCredentialsJson;
    return absl::StatusOr<http::HttpResponse>(r);
  };
  std::vector<Case> cases = {
      {"401", answer(401)},
      {"429", answer(429)},
      {"502", answer(502)},
      {"503", answer(503)},
      {"504", answer(504)},
      {"200", answer(200)},
      {"reset", absl::UnavailableError("Connection reset by peer")},
  };
  for (Case& c : cases) {
    SCOPED_TRACE(c.name);
    LeafClient client(&http_, &tokens_, LeafEndpoints("http://leaf", providers::AgLeaderSpec()),
                      Options());
    auto out = std::make_shared<Outcome>();
    const size_t before = http_.requests().size();
    auto call = Get(client, out);
    std::optional<http::HttpCallback> received = http_.Take();
    ASSERT_TRUE(received.has_value());
    call->Cancel();
    EXPECT_EQ(out->calls, 1);
    EXPECT_EQ(out->status.code(), absl::StatusCode::kCancelled);
    (*received)(std::move(c.response));
    absl::SleepFor(absl::Milliseconds(20));  // a retry would be immediate (no jitter)
    EXPECT_EQ(out->calls, 1);
    EXPECT_EQ(http_.requests().size(), before + 1) << "sent again after the cancel";
    EXPECT_EQ(client.in_flight(), 0);
  }
}

TEST_F(LeafExchangeTest, ResponseHandledBeforeTheCancelFinishesWithTheNextStepCancelled) {
  LeafClient client(&http_, &tokens_, LeafEndpoints("http://leaf", providers::AgLeaderSpec()),
                    Options());
  auto out = std::make_shared<Outcome>();
  auto call = Get(client, out);
  ASSERT_TRUE(http_.Respond(503));  // now backing off (no jitter: at once) or re-sent
  call->Cancel();
  ASSERT_TRUE(WaitFor([&] { return out->calls == 1; }));
  EXPECT_EQ(out->status.code(), absl::StatusCode::kCancelled);
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(out->calls, 1);
  EXPECT_EQ(client.in_flight(), 0);
  EXPECT_EQ(http_.pending(), 0u);  // a re-sent attempt was cancelled too
}

TEST_F(LeafExchangeTest, AbortAllEndsCallsInEveryStateWithTheGivenStatus) {
  LeafClientOptions o = Options();
  o.random = [] { return 1.0; };
  o.retry.initial_backoff = absl::Seconds(10);
  o.retry.max_backoff = absl::Seconds(10);
  PendingTokens pending;
  LeafClient waiting_for_token(&http_, &pending,
                               LeafEndpoints("http://leaf", providers::AgLeaderSpec()), o);
  LeafClient client(&http_, &tokens_, LeafEndpoints("http://leaf", providers::AgLeaderSpec()), o);
  auto in_token = std::make_shared<Outcome>();
  auto in_send = std::make_shared<Outcome>();
  auto in_backoff = std::make_shared<Outcome>();
  Get(waiting_for_token, in_token);
  Get(client, in_backoff);
  ASSERT_TRUE(http_.Respond(503));  // backing off for 10 s
  // Another user: an identical read would join the one backing off.
  Get(client, in_send, absl::Seconds(30), ::leafsvc::testing::kTestUser2);
  ASSERT_EQ(http_.pending(), 1u);

  StatusDetails d;
  d.reason = "SHUTTING_DOWN";
  const absl::Status shutting_down = MakeStatus(absl::StatusCode::kUnavailable, "bye", d);
  waiting_for_token.AbortAll(shutting_down);
  client.AbortAll(shutting_down);
  for (const auto& out : {in_token, in_send, in_backoff}) {
    EXPECT_EQ(out->calls, 1);
    EXPECT_EQ(out->status.code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(GetStatusDetails(out->status).reason, "SHUTTING_DOWN");
  }
  EXPECT_EQ(GetStatusDetails(in_send->status).metadata.count("request_may_have_reached_leaf"), 1u);
  EXPECT_EQ(GetStatusDetails(in_token->status).metadata.count("request_may_have_reached_leaf"), 0u);
  EXPECT_EQ(http_.pending(), 0u);
  EXPECT_EQ(client.in_flight(), 0);
  EXPECT_EQ(waiting_for_token.in_flight(), 0);
  // Late events change nothing.
  pending.waiting_.at(0)(Secret("late"));
  EXPECT_EQ(in_token->calls, 1);
}

TEST_F(LeafExchangeTest, TheDeadlineHoldsWhileWaitingForALogin) {
  PendingTokens pending;
  LeafClient client(&http_, &pending, LeafEndpoints("http://leaf", providers::AgLeaderSpec()),
                    Options());
  auto out = std::make_shared<Outcome>();
  Get(client, out, absl::Milliseconds(50));
  ASSERT_TRUE(WaitFor([&] { return out->calls == 1; }));
  EXPECT_EQ(out->status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(client.in_flight(), 0);
  pending.waiting_.at(0)(Secret("late"));
  EXPECT_EQ(out->calls, 1);
  EXPECT_TRUE(http_.requests().empty());
}

TEST_F(LeafExchangeTest, ASilentPooledConnectionIsRetriedOnceOnAFreshOne) {
  LeafClientOptions o = Options();
  o.retry.max_attempts = 1;  // the repair does not depend on the retry budget
  o.first_byte_timeout = absl::Milliseconds(700);
  LeafClient client(&http_, &tokens_, LeafEndpoints("http://leaf", providers::AgLeaderSpec()), o);
  auto out = std::make_shared<Outcome>();
  Get(client, out);
  const http::HttpRequest first = http_.requests().back();
  EXPECT_FALSE(first.fresh_connection);
  EXPECT_EQ(first.first_byte_timeout, absl::Milliseconds(700));
  absl::Status silent = absl::UnavailableError("no answer on a reused connection");
  silent.SetPayload(http::kNoAnswerPayload, absl::Cord("true"));
  silent.SetPayload(http::kMaybeSentPayload, absl::Cord("true"));
  ASSERT_TRUE(http_.Respond(silent));
  ASSERT_TRUE(WaitFor([&] { return http_.pending() == 1; }));
  const http::HttpRequest second = http_.requests().back();
  EXPECT_TRUE(second.fresh_connection);
  EXPECT_EQ(second.first_byte_timeout, absl::InfiniteDuration());
  ASSERT_TRUE(http_.Respond(200, kCredentialsJson));
  ASSERT_TRUE(WaitFor([&] { return out->calls == 1; }));
  EXPECT_TRUE(out->status.ok()) << out->status;
}

TEST_F(LeafExchangeTest, APostNeverGetsAFirstByteLimit) {
  LeafClient client(&http_, &tokens_, LeafEndpoints("http://leaf", providers::AgLeaderSpec()),
                    Options());
  NewProviderCredentials c = ::leafsvc::testing::AgLeaderCreate("rt", "pk", "sk");
  client.CreateCredentials(kUser, c, absl::Now() + absl::Seconds(5), [](auto) {});
  EXPECT_EQ(http_.requests().back().first_byte_timeout, absl::InfiniteDuration());
  EXPECT_TRUE(http_.requests().back().fresh_connection);
  ASSERT_TRUE(http_.Respond(201, kCredentialsJson));
}

}  // namespace
}  // namespace leafsvc::leaf
