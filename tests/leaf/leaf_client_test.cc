#include "server/leaf/leaf_client.h"

#include <atomic>
#include <optional>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "server/errors/status_details.h"
#include "server/providers/agleader/agleader_spec.h"
#include "tests/leaf/fake_http_client.h"
#include "tests/leaf/test_credentials.h"
#include "tests/leaf/test_token_sources.h"

namespace leafsvc::leaf {
namespace {

using ::leafsvc::testing::FakeHttpClient;
using ::leafsvc::testing::HeaderOf;

using ::leafsvc::testing::CountingTokenSource;
using ::leafsvc::testing::PendingTokenSource;
constexpr const char* kUser = ::leafsvc::testing::kTestUser;
constexpr const char* kCredentialsJson = ::leafsvc::testing::kTestCredentialsJson;

class LeafClientTest : public ::testing::Test {
 protected:
  LeafClientTest()
      : client_(&http_, &tokens_, LeafEndpoints("http://leaf", providers::AgLeaderSpec())) {}

  absl::Time Deadline() { return absl::Now() + absl::Seconds(30); }

  FakeHttpClient http_;
  CountingTokenSource tokens_;
  LeafClient client_;
};

TEST_F(LeafClientTest, GetSendsBearerToDocumentedPathAndDecodes) {
  std::optional<absl::StatusOr<ProviderCredentials>> got;
  client_.GetCredentials(kUser, Deadline(), [&](auto r) { got = std::move(r); });
  ASSERT_EQ(http_.requests().size(), 1u);
  const http::HttpRequest req = http_.requests()[0];
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.url, std::string("http://leaf/services/usermanagement/api/users/") + kUser +
                         "/ag-leader-credentials");
  EXPECT_EQ(HeaderOf(req, "Authorization"), "Bearer token-1");
  ASSERT_TRUE(http_.Respond(200, kCredentialsJson));
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->ok()) << got->status();
  EXPECT_EQ((*got)->id, "c1");
  EXPECT_EQ(::leafsvc::testing::FieldOf(**got, "refreshToken"), "rt");
}

TEST_F(LeafClientTest, CreatePostsJsonAndAccepts201) {
  NewProviderCredentials c = ::leafsvc::testing::AgLeaderCreate("rt", "pk", "sk");
  std::optional<absl::StatusOr<ProviderCredentials>> got;
  client_.CreateCredentials(kUser, c, Deadline(), [&](auto r) { got = std::move(r); });
  const http::HttpRequest req = http_.requests().at(0);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(HeaderOf(req, "Content-Type"), "application/json");
  EXPECT_NE(req.body.find("\"refreshToken\":\"rt\""), std::string::npos);
  ASSERT_TRUE(http_.Respond(201, kCredentialsJson));
  ASSERT_TRUE(got.has_value() && got->ok());
}

TEST_F(LeafClientTest, DeleteSucceedsOn204AndMaps404) {
  std::optional<absl::Status> got;
  client_.DeleteCredentials(kUser, Deadline(), [&](absl::Status s) { got = s; });
  EXPECT_EQ(http_.requests().at(0).method, "DELETE");
  ASSERT_TRUE(http_.Respond(204));
  EXPECT_TRUE(got->ok());

  client_.DeleteCredentials(kUser, Deadline(), [&](absl::Status s) { got = s; });
  ASSERT_TRUE(http_.Respond(404, R"({"title":"Not Found","status":404})"));
  EXPECT_EQ(got->code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(GetStatusDetails(*got).reason, "CREDENTIALS_NOT_FOUND");
}

TEST_F(LeafClientTest, ListEventsUsesEventsPath) {
  std::optional<absl::StatusOr<std::vector<CredentialEvent>>> got;
  client_.ListEvents(kUser, Deadline(), [&](auto r) { got = std::move(r); });
  EXPECT_NE(http_.requests().at(0).url.find("/ag-leader-credentials/events"), std::string::npos);
  ASSERT_TRUE(http_.Respond(200, R"([{"id":"e","statusCode":200}])"));
  ASSERT_TRUE(got->ok());
  EXPECT_EQ((*got)->size(), 1u);
}

TEST_F(LeafClientTest, A401RenewsTheTokenAndRetriesOnce) {
  std::optional<absl::StatusOr<ProviderCredentials>> got;
  client_.GetCredentials(kUser, Deadline(), [&](auto r) { got = std::move(r); });
  ASSERT_TRUE(http_.Respond(401, R"({"title":"Unauthorized"})"));
  EXPECT_FALSE(got.has_value());
  ASSERT_EQ(http_.requests().size(), 2u);
  EXPECT_EQ(HeaderOf(http_.requests()[1], "Authorization"), "Bearer token-2");
  ASSERT_TRUE(http_.Respond(200, kCredentialsJson));
  EXPECT_TRUE(got->ok());
}

TEST_F(LeafClientTest, ASecond401IsReportedNotLooped) {
  std::optional<absl::StatusOr<ProviderCredentials>> got;
  client_.GetCredentials(kUser, Deadline(), [&](auto r) { got = std::move(r); });
  ASSERT_TRUE(http_.Respond(401));
  ASSERT_TRUE(http_.Respond(401));
  EXPECT_FALSE(http_.Respond(401));  // no third request
  EXPECT_EQ(tokens_.invalidations_, 1);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(GetStatusDetails(got->status()).reason, "LEAF_TOKEN_REJECTED");
}

TEST_F(LeafClientTest, CancelAbortsTheTransferAndReportsCancelled) {
  std::optional<absl::StatusOr<ProviderCredentials>> got;
  auto call = client_.GetCredentials(kUser, Deadline(), [&](auto r) { got = std::move(r); });
  call->Cancel();
  EXPECT_EQ(http_.cancelled(), 1);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status().code(), absl::StatusCode::kCancelled);
  call->Cancel();  // idempotent
}

TEST_F(LeafClientTest, PassedDeadlineFailsWithoutSending) {
  std::optional<absl::StatusOr<ProviderCredentials>> got;
  client_.GetCredentials(kUser, absl::Now() - absl::Seconds(1),
                         [&](auto r) { got = std::move(r); });
  EXPECT_TRUE(http_.requests().empty());
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(LeafClientTest, TransportErrorsAndBadBodiesAreMapped) {
  std::optional<absl::StatusOr<ProviderCredentials>> got;
  client_.GetCredentials(kUser, Deadline(), [&](auto r) { got = std::move(r); });
  ASSERT_TRUE(http_.Respond(absl::UnavailableError("Connection refused")));
  EXPECT_EQ(got->status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetStatusDetails(got->status()).reason, "LEAF_UNREACHABLE");

  client_.GetCredentials(kUser, Deadline(), [&](auto r) { got = std::move(r); });
  ASSERT_TRUE(http_.Respond(200, R"({"id":"c1","status":)"));
  EXPECT_EQ(got->status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(GetStatusDetails(got->status()).reason, "LEAF_BAD_RESPONSE");
}

TEST(LeafClientCancelTest, CancelWhileWaitingForATokenFinishesAtOnceAndSendsNothing) {
  FakeHttpClient http;
  PendingTokenSource tokens;
  LeafClient client(&http, &tokens, LeafEndpoints("http://leaf", providers::AgLeaderSpec()));
  int calls = 0;
  absl::StatusCode code = absl::StatusCode::kOk;
  auto call = client.GetCredentials(kUser, absl::Now() + absl::Seconds(5),
                                    [&](absl::StatusOr<ProviderCredentials> r) {
                                      ++calls;
                                      code = r.status().code();
                                    });
  call->Cancel();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(code, absl::StatusCode::kCancelled);
  tokens.waiting_.at(0)(Secret("late-token"));
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(http.requests().empty());
}

}  // namespace
}  // namespace leafsvc::leaf

namespace leafsvc::leaf {
namespace {

// Retries and backpressure, with a real scheduler and jitter fixed at 0 so
// that retries are immediate.
class LeafClientRetryTest : public ::testing::Test {
 protected:
  LeafClientRetryTest()
      : client_(&http_, &tokens_, LeafEndpoints("http://leaf", providers::AgLeaderSpec()),
                Options()) {}

  LeafClientOptions Options() {
    LeafClientOptions o;
    o.retry.max_attempts = 3;
    o.scheduler = &scheduler_;
    o.random = [] { return 0.0; };
    o.max_in_flight = 2;
    o.on_attempt = [this](const AttemptInfo& a) { outcomes_.push_back(a.reachable); };
    return o;
  }

  // Waits (bounded) until `n` requests have been sent in total.
  bool WaitForRequests(size_t n) {
    const absl::Time until = absl::Now() + absl::Seconds(5);
    while (http_.requests().size() < n) {
      if (absl::Now() > until) return false;
      absl::SleepFor(absl::Milliseconds(1));
    }
    return true;
  }

  absl::Time Deadline() { return absl::Now() + absl::Seconds(30); }

  template <typename T>
  static bool Ready(const std::shared_ptr<std::optional<T>>& v) {
    const absl::Time until = absl::Now() + absl::Seconds(5);
    while (!v->has_value() && absl::Now() < until) absl::SleepFor(absl::Milliseconds(1));
    return v->has_value();
  }

  Scheduler scheduler_;
  FakeHttpClient http_;
  CountingTokenSource tokens_;
  std::vector<bool> outcomes_;
  LeafClient client_;
};

TEST_F(LeafClientRetryTest, GetIsRetriedOn503AndSucceeds) {
  auto got = std::make_shared<std::optional<absl::StatusOr<ProviderCredentials>>>();
  client_.GetCredentials(kUser, Deadline(), [got](auto r) { *got = std::move(r); });
  ASSERT_TRUE(http_.Respond(503));
  ASSERT_TRUE(WaitForRequests(2));
  ASSERT_TRUE(http_.Respond(200, kCredentialsJson));
  ASSERT_TRUE(Ready(got));
  EXPECT_TRUE((*got)->ok());
  EXPECT_EQ(outcomes_, (std::vector<bool>{false, true}));
}

TEST_F(LeafClientRetryTest, GivesUpAfterMaxAttemptsAndSaysHowMany) {
  auto got = std::make_shared<std::optional<absl::StatusOr<ProviderCredentials>>>();
  client_.GetCredentials(kUser, Deadline(), [got](auto r) { *got = std::move(r); });
  for (size_t i = 1; i <= 3; ++i) {
    ASSERT_TRUE(WaitForRequests(i));
    ASSERT_TRUE(http_.Respond(502, "<html>bad gateway</html>"));
  }
  ASSERT_TRUE(Ready(got));
  EXPECT_EQ((*got)->status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetStatusDetails((*got)->status()).metadata.at("leaf_attempts"), "3");
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(http_.requests().size(), 3u);
}

TEST_F(LeafClientRetryTest, ConnectionFailuresAndRateLimitsAreRetriedForGet) {
  auto got = std::make_shared<std::optional<absl::StatusOr<std::vector<CredentialEvent>>>>();
  client_.ListEvents(kUser, Deadline(), [got](auto r) { *got = std::move(r); });
  ASSERT_TRUE(http_.Respond(absl::UnavailableError("Connection refused")));
  ASSERT_TRUE(WaitForRequests(2));
  ASSERT_TRUE(http_.Respond(429));
  ASSERT_TRUE(WaitForRequests(3));
  ASSERT_TRUE(http_.Respond(200, "[]"));
  ASSERT_TRUE(Ready(got));
  EXPECT_TRUE((*got)->ok());
}

TEST_F(LeafClientRetryTest, RetryAfterBeyondTheDeadlineIsNotWaitedFor) {
  auto got = std::make_shared<std::optional<absl::StatusOr<ProviderCredentials>>>();
  client_.GetCredentials(kUser, absl::Now() + absl::Seconds(2),
                         [got](auto r) { *got = std::move(r); });
  ASSERT_TRUE(http_.Respond(429, "", {{"retry-after", "60"}}));
  ASSERT_TRUE(Ready(got));
  EXPECT_EQ((*got)->status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(http_.requests().size(), 1u);
}

TEST_F(LeafClientRetryTest, PostIsNotRetriedOnceItMayHaveArrived) {
  NewProviderCredentials c = ::leafsvc::testing::AgLeaderCreate("rt", "pk", "sk");
  auto got = std::make_shared<std::optional<absl::StatusOr<ProviderCredentials>>>();
  client_.CreateCredentials(kUser, c, Deadline(), [got](auto r) { *got = std::move(r); });
  EXPECT_TRUE(http_.requests()[0].fresh_connection);
  ASSERT_TRUE(http_.Respond(503));
  ASSERT_TRUE(Ready(got));
  EXPECT_EQ((*got)->status().code(), absl::StatusCode::kUnavailable);

  client_.CreateCredentials(kUser, c, Deadline(), [got](auto r) { *got = std::move(r); });
  absl::Status reset = absl::UnavailableError("Connection reset by peer");
  reset.SetPayload(http::kMaybeSentPayload, absl::Cord("true"));
  got->reset();
  ASSERT_TRUE(http_.Respond(reset));
  ASSERT_TRUE(Ready(got));
  EXPECT_EQ(GetStatusDetails((*got)->status()).metadata.at("request_may_have_reached_leaf"),
            "true");
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(http_.requests().size(), 2u);
}

TEST_F(LeafClientRetryTest, PostIsRetriedWhenTheConnectionWasRefused) {
  NewProviderCredentials c = ::leafsvc::testing::AgLeaderCreate("rt", "pk", "sk");
  auto got = std::make_shared<std::optional<absl::StatusOr<ProviderCredentials>>>();
  client_.CreateCredentials(kUser, c, Deadline(), [got](auto r) { *got = std::move(r); });
  ASSERT_TRUE(http_.Respond(absl::UnavailableError("Connection refused")));
  ASSERT_TRUE(WaitForRequests(2));
  ASSERT_TRUE(http_.Respond(201, kCredentialsJson));
  ASSERT_TRUE(Ready(got));
  EXPECT_TRUE((*got)->ok());
}

TEST_F(LeafClientRetryTest, DeleteWhoseRetrySees404AfterAPossibleSuccessSucceeds) {
  auto got = std::make_shared<std::optional<absl::Status>>();
  client_.DeleteCredentials(kUser, Deadline(), [got](absl::Status s) { *got = s; });
  absl::Status reset = absl::UnavailableError("Connection reset by peer");
  reset.SetPayload(http::kMaybeSentPayload, absl::Cord("true"));
  ASSERT_TRUE(http_.Respond(reset));
  ASSERT_TRUE(WaitForRequests(2));
  ASSERT_TRUE(http_.Respond(404, R"({"title":"Not Found"})"));
  ASSERT_TRUE(Ready(got));
  EXPECT_TRUE((*got)->ok()) << **got;
}

TEST_F(LeafClientRetryTest, PlainDelete404IsStillNotFound) {
  auto got = std::make_shared<std::optional<absl::Status>>();
  client_.DeleteCredentials(kUser, Deadline(), [got](absl::Status s) { *got = s; });
  ASSERT_TRUE(http_.Respond(404));
  ASSERT_TRUE(Ready(got));
  EXPECT_EQ((*got)->code(), absl::StatusCode::kNotFound);
}

TEST_F(LeafClientRetryTest, CancelDuringBackoffFinishesAtOnceAndSendsNoMore) {
  LeafClientOptions o = Options();
  o.random = [] { return 1.0; };  // full backoff
  o.retry.initial_backoff = absl::Seconds(10);
  o.retry.max_backoff = absl::Seconds(10);
  LeafClient slow(&http_, &tokens_, LeafEndpoints("http://leaf", providers::AgLeaderSpec()), o);
  auto got = std::make_shared<std::optional<absl::StatusOr<ProviderCredentials>>>();
  auto call = slow.GetCredentials(kUser, Deadline(), [got](auto r) { *got = std::move(r); });
  ASSERT_TRUE(http_.Respond(503));
  EXPECT_FALSE(got->has_value());  // waiting out the backoff
  call->Cancel();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(http_.requests().size(), 1u);
  EXPECT_EQ(slow.in_flight(), 0);
}

TEST_F(LeafClientRetryTest, BeyondMaxInFlightCallsFailFast) {
  auto first = std::make_shared<std::optional<absl::StatusOr<ProviderCredentials>>>();
  auto second = std::make_shared<std::optional<absl::StatusOr<ProviderCredentials>>>();
  auto third = std::make_shared<std::optional<absl::StatusOr<ProviderCredentials>>>();
  // Three users: identical reads would share one request.
  client_.GetCredentials(kUser, Deadline(), [first](auto r) { *first = std::move(r); });
  client_.GetCredentials(::leafsvc::testing::kTestUser2, Deadline(),
                         [second](auto r) { *second = std::move(r); });
  client_.GetCredentials(::leafsvc::testing::kTestUser3, Deadline(),
                         [third](auto r) { *third = std::move(r); });
  ASSERT_TRUE(third->has_value());
  EXPECT_EQ((*third)->status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(GetStatusDetails((*third)->status()).reason, "TOO_MANY_CALLS_IN_FLIGHT");
  EXPECT_EQ(http_.requests().size(), 2u);
  EXPECT_EQ(client_.in_flight(), 2);
  ASSERT_TRUE(http_.Respond(200, kCredentialsJson));
  ASSERT_TRUE(http_.Respond(200, kCredentialsJson));
  EXPECT_EQ(client_.in_flight(), 0);
}

}  // namespace
}  // namespace leafsvc::leaf

namespace leafsvc::leaf {
namespace {

// A list body of at least kOffloadBodyBytes: `n` events.
std::string LargeEventsBody(int n) {
  std::string body = "[";
  for (int i = 0; i < n; ++i) {
    if (i > 0) body += ',';
    body +=
        R"({"id":"e)" + std::to_string(i) +
        R"(","createdDate":"2023-04-21T12:16:27.997586Z","statusCode":200,"headers":"h","body":"b"})";
  }
  return body + "]";
}

TEST_F(LeafClientTest, ALargeBodyIsDecodedOffTheTransportThread) {
  const std::string body = LargeEventsBody(2000);
  ASSERT_GE(body.size(), kOffloadBodyBytes);
  absl::Notification done;
  std::thread::id ran_on;
  std::optional<absl::StatusOr<std::vector<CredentialEvent>>> got;
  client_.ListEvents(kUser, Deadline(), [&](auto r) {
    got = std::move(r);
    ran_on = std::this_thread::get_id();
    done.Notify();
  });
  ASSERT_TRUE(http_.Respond(200, body));  // the "transport thread" is this one
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_NE(ran_on, std::this_thread::get_id());
  ASSERT_TRUE(got->ok());
  EXPECT_EQ((*got)->size(), 2000u);
  EXPECT_EQ(client_.in_flight(), 0);
}

// A body waiting for a completion thread still holds its in-flight slot, so
// a hostile Leaf answering many large bodies cannot queue more of them than
// --max_upstream_in_flight allows.
TEST_F(LeafClientTest, AQueuedLargeBodyKeepsItsInFlightSlot) {
  const std::string body = LargeEventsBody(2000);
  absl::Notification release;
  std::atomic<int> blocked{0};
  std::atomic<int> finished{0};
  auto blocking = [&](auto) {
    ++blocked;
    release.WaitForNotification();
    ++finished;
  };
  // Both completion threads busy with the first two calls.
  // Other users each: identical reads would share one request.
  client_.ListEvents(kUser, Deadline(), blocking);
  client_.ListEvents(::leafsvc::testing::kTestUser2, Deadline(), blocking);
  ASSERT_TRUE(http_.Respond(200, body));
  ASSERT_TRUE(http_.Respond(200, body));
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (blocked.load() < 2 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_EQ(blocked.load(), 2);
  EXPECT_EQ(client_.in_flight(), 0);  // those two are being completed
  // The third waits in the queue: its slot is still taken.
  client_.ListEvents(::leafsvc::testing::kTestUser3, Deadline(), [&](auto) { ++finished; });
  ASSERT_TRUE(http_.Respond(200, body));
  EXPECT_EQ(client_.in_flight(), 1);
  release.Notify();
  while (finished.load() < 3 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_EQ(finished.load(), 3);
  EXPECT_EQ(client_.in_flight(), 0);
}

TEST_F(LeafClientTest, ASmallBodyIsDecodedOnTheTransportThread) {
  std::thread::id ran_on;
  client_.ListEvents(kUser, Deadline(), [&](auto) { ran_on = std::this_thread::get_id(); });
  ASSERT_TRUE(http_.Respond(200, R"([{"id":"e","statusCode":200}])"));
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

// At shutdown an owner (the watch poller) cancels its call and is destroyed
// while that call's large body waits for a completion thread: the body's
// callback must not run into the destroyed owner afterwards.
TEST_F(LeafClientTest, ACancelledLargeBodyNeverCallsItsOwnerAfterCancelReturns) {
  const std::string body = LargeEventsBody(2000);
  absl::Notification release;
  // Whatever fails below, the completion threads are let go (else the
  // client's destructor waits for them for ever).
  struct Releaser {
    absl::Notification& n;
    ~Releaser() {
      if (!n.HasBeenNotified()) n.Notify();
    }
  } releaser{release};
  std::atomic<int> blocked{0};
  auto blocking = [&](auto) {
    ++blocked;
    release.WaitForNotification();
  };
  // Other users each: identical reads would share one request.
  client_.ListEvents(kUser, Deadline(), blocking);
  client_.ListEvents(::leafsvc::testing::kTestUser2, Deadline(), blocking);
  ASSERT_TRUE(http_.Respond(200, body));
  ASSERT_TRUE(http_.Respond(200, body));
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (blocked.load() < 2 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_EQ(blocked.load(), 2);

  std::atomic<bool> owner_gone{false};
  std::atomic<int> after_gone{0};
  std::optional<absl::Status> heard;
  std::shared_ptr<Cancellable> call =
      client_.ListEvents(::leafsvc::testing::kTestUser3, Deadline(), [&](auto r) {
        if (owner_gone.load()) ++after_gone;
        heard = r.status();
      });
  ASSERT_TRUE(http_.Respond(200, body));  // queued behind the two
  call->Cancel();
  owner_gone = true;  // the owner is destroyed now
  ASSERT_TRUE(heard.has_value());
  EXPECT_EQ(heard->code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(GetStatusDetails(*heard).reason, "CANCELLED");
  release.Notify();
  while (client_.in_flight() > 0 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_EQ(client_.in_flight(), 0);
  absl::SleepFor(absl::Milliseconds(50));  // a wrong run would come now
  EXPECT_EQ(after_gone.load(), 0);
}

}  // namespace
}  // namespace leafsvc::leaf
