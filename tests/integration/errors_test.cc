// Every error class of the README's error table, produced by the emulator's
// fault controls (or a dead port) and observed through a real stub.
#include <future>
#include <map>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;
using Kind = leafemu::Fault::Kind;

class ErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    h_ = Harness::Start(nullptr, [](ServerConfig& c) {
      c.upstream_timeout = absl::Seconds(2);
      c.max_response_bytes = 64 * 1024;
    });
    ASSERT_NE(h_, nullptr);
    h_->Create(kUserA);
    h_->emulator().ClearRequests();
  }

  grpc::Status Get(absl::Duration timeout = absl::Seconds(10)) {
    v1::GetCredentialsRequest req;
    req.set_leaf_user_id(kUserA);
    v1::Credentials out;
    return h_->stub().GetCredentials(Harness::Context(timeout).get(), req, &out);
  }

  void Inject(Kind kind, int status = 0, std::string body = "",
              std::map<std::string, std::string> headers = {}) {
    leafemu::Fault f;
    f.kind = kind;
    f.status = status;
    f.body = std::move(body);
    f.headers = std::move(headers);
    f.path_contains = "ag-leader-credentials";
    // libcurl transparently re-sends a request once when a reused connection
    // dies before any answer; a persistent fault defeats that.
    f.times = -1;
    h_->emulator().InjectFault(f);
  }

  std::unique_ptr<Harness> h_;
};

struct Case {
  const char* name;
  Kind kind;
  int status;
  std::string body;
  grpc::StatusCode code;
  const char* reason;
};

TEST_F(ErrorsTest, EachLeafFailureMapsToItsCodeAndReason) {
  const std::string problem400 =
      R"({"title":"Bad Request","status":400,"detail":"refreshToken is malformed","message":"error.http.400"})";
  const Case cases[] = {
      {"400", Kind::kStatus, 400, problem400, grpc::StatusCode::INVALID_ARGUMENT,
       "LEAF_REJECTED_REQUEST"},
      {"401", Kind::kStatus, 401, "", grpc::StatusCode::UNAUTHENTICATED, "LEAF_TOKEN_REJECTED"},
      {"403", Kind::kStatus, 403, "", grpc::StatusCode::PERMISSION_DENIED,
       "LEAF_PERMISSION_DENIED"},
      {"404", Kind::kStatus, 404, "", grpc::StatusCode::NOT_FOUND, "CREDENTIALS_NOT_FOUND"},
      {"409", Kind::kStatus, 409, "", grpc::StatusCode::ALREADY_EXISTS,
       "CREDENTIALS_ALREADY_EXIST"},
      {"500", Kind::kStatus, 500, "", grpc::StatusCode::UNAVAILABLE, "LEAF_UNAVAILABLE"},
      {"503", Kind::kStatus, 503, "", grpc::StatusCode::UNAVAILABLE, "LEAF_UNAVAILABLE"},
      {"html 502", Kind::kHtml, 502, "", grpc::StatusCode::UNAVAILABLE, "LEAF_UNAVAILABLE"},
      {"malformed json", Kind::kMalformedJson, 0, "", grpc::StatusCode::INTERNAL,
       "LEAF_BAD_RESPONSE"},
      {"empty 200", Kind::kEmptyBody, 0, "", grpc::StatusCode::INTERNAL, "LEAF_BAD_RESPONSE"},
      {"closed connection", Kind::kCloseConnection, 0, "", grpc::StatusCode::UNAVAILABLE,
       "LEAF_UNREACHABLE"},
      {"reset mid-body", Kind::kResetMidBody, 0, "", grpc::StatusCode::UNAVAILABLE,
       "LEAF_UNREACHABLE"},
      {"huge body", Kind::kHugeBody, 0, "", grpc::StatusCode::INTERNAL,
       "LEAF_RESPONSE_TOO_LARGE"},
  };
  for (const Case& c : cases) {
    Inject(c.kind, c.status, c.body);
    grpc::Status st = Get();
    EXPECT_EQ(st.error_code(), c.code) << c.name << ": " << st.error_message();
    auto info = ErrorInfoOf(st);
    EXPECT_EQ(info.reason(), c.reason) << c.name << ": " << st.error_message();
    EXPECT_EQ(info.domain(), "leaf.agleader.v1") << c.name;
    EXPECT_FALSE(st.error_message().empty()) << c.name;
    if (c.kind == Kind::kStatus) {
      EXPECT_EQ(info.metadata().at("leaf_http_status"), std::to_string(c.status)) << c.name;
    }
    h_->emulator().ClearFaults();
  }
  // After all that the service still works.
  EXPECT_TRUE(Get().ok());
}

TEST_F(ErrorsTest, LeafsOwnMessageReachesTheCaller) {
  Inject(Kind::kStatus, 400,
         R"({"title":"Bad Request","status":400,"detail":"refreshToken is malformed"})");
  grpc::Status st = Get();
  EXPECT_NE(st.error_message().find("refreshToken is malformed"), std::string::npos);
  EXPECT_EQ(ErrorInfoOf(st).metadata().at("leaf_message"), "refreshToken is malformed");
}

// Leaf's 429 pauses every request of the process (docs/rate-limits.md), so
// it has its own server: the cases above would meet the pause.
TEST_F(ErrorsTest, A429WithoutRetryAfterIsLeafRateLimitedWithLeafsStatusAndARetryInfo) {
  Inject(Kind::kStatus, 429, R"({"error":"Request limit exceeded","status_code":429})");
  grpc::Status st = Get();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  auto info = ErrorInfoOf(st);
  EXPECT_EQ(info.reason(), "LEAF_RATE_LIMITED");
  EXPECT_EQ(info.metadata().count("leaf_http_status") ? info.metadata().at("leaf_http_status")
                                                      : std::string("none"),
            "429");
  int64_t delay_ms = 0;
  ASSERT_TRUE(RetryInfoOf(st, &delay_ms));
  EXPECT_GT(delay_ms, 0);
}

TEST_F(ErrorsTest, RateLimitCarriesRetryInfo) {
  Inject(Kind::kStatus, 429, "", {{"Retry-After", "3"}});
  grpc::Status st = Get();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  int64_t delay_ms = 0;
  ASSERT_TRUE(RetryInfoOf(st, &delay_ms));
  EXPECT_EQ(delay_ms, 3000);
}

TEST_F(ErrorsTest, UpstreamTimeoutIsDeadlineExceeded) {
  leafemu::Fault f;
  f.kind = Kind::kLatencyOnly;
  f.latency = absl::Seconds(4);  // beyond --upstream_timeout=2s
  h_->emulator().InjectFault(f);
  const absl::Time start = absl::Now();
  grpc::Status st = Get();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(ErrorInfoOf(st).reason(), "LEAF_TIMEOUT");
  EXPECT_LT(absl::Now() - start, absl::Seconds(3.5));
}

TEST_F(ErrorsTest, CallersDeadlineCapsTheUpstreamTimeout) {
  leafemu::Fault f;
  f.kind = Kind::kLatencyOnly;
  f.latency = absl::Seconds(3);
  h_->emulator().InjectFault(f);
  const absl::Time start = absl::Now();
  grpc::Status st = Get(absl::Milliseconds(300));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1.5));
  // The server gave up on the transfer too, well before the emulator answered.
  const absl::Time wait_until = absl::Now() + absl::Seconds(2);
  while (h_->app().http().InFlight() != 0 && absl::Now() < wait_until) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(h_->app().http().InFlight(), 0u);
}

TEST_F(ErrorsTest, CancelledCallAbortsItsTransfer) {
  leafemu::Fault f;
  f.kind = Kind::kLatencyOnly;
  f.latency = absl::Seconds(4);
  h_->emulator().InjectFault(f);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::GetCredentialsRequest req;
  req.set_leaf_user_id(kUserA);
  v1::Credentials out;
  std::promise<grpc::Status> done;
  h_->stub().async()->GetCredentials(&ctx, &req, &out,
                                     [&done](grpc::Status s) { done.set_value(s); });
  // Wait until the upstream transfer is running, then cancel the RPC.
  const absl::Time until = absl::Now() + absl::Seconds(3);
  while (h_->app().http().InFlight() == 0 && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(h_->app().http().InFlight(), 1u);
  const absl::Time cancelled_at = absl::Now();
  ctx.TryCancel();
  auto future = done.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(3)), std::future_status::ready);
  EXPECT_EQ(future.get().error_code(), grpc::StatusCode::CANCELLED);
  while (h_->app().http().InFlight() != 0 && absl::Now() < cancelled_at + absl::Seconds(2)) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(h_->app().http().InFlight(), 0u);
  EXPECT_LT(absl::Now() - cancelled_at, absl::Seconds(1));
}

TEST(ErrorsUnreachableTest, DeadPortIsUnavailable) {
  auto h = Harness::Start(nullptr, [](ServerConfig& c) {
    c.leaf_api_url = "http://127.0.0.1:1";  // nothing listens on port 1
  });
  ASSERT_NE(h, nullptr);
  v1::GetCredentialsRequest req;
  req.set_leaf_user_id(kUserA);
  v1::Credentials out;
  grpc::Status st = h->stub().GetCredentials(Harness::Context().get(), req, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ErrorInfoOf(st).reason(), "LEAF_UNREACHABLE");
  EXPECT_NE(st.error_message().find("127.0.0.1:1"), std::string::npos);
}

TEST(ErrorsTokenTest, RejectedStaticTokenIsUnauthenticatedWithoutRetryLoop) {
  auto h = Harness::Start(nullptr, [](ServerConfig& c) { c.leaf_token = Secret("wrong"); });
  ASSERT_NE(h, nullptr);
  v1::GetCredentialsRequest req;
  req.set_leaf_user_id(kUserA);
  v1::Credentials out;
  grpc::Status st = h->stub().GetCredentials(Harness::Context().get(), req, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ErrorInfoOf(st).reason(), "LEAF_TOKEN_REJECTED");
  EXPECT_EQ(h->emulator().CountRequests("GET", "ag-leader-credentials"), 1);
}

}  // namespace
}  // namespace leafsvc::testing
