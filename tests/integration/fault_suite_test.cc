// The fault suite: the real server against the emulator under each upstream
// fault. For each it checks the gRPC code, the number of HTTP attempts Leaf
// saw, that the server still answers health afterwards, and that no
// credential was created twice or lost. It prints a table of the results.
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "third_party/grpc_proto/grpc/health/v1/health.grpc.pb.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;
using Kind = leafemu::Fault::Kind;

constexpr char kPath[] = "ag-leader-credentials";

struct Row {
  std::string fault;
  std::string rpc;
  grpc::StatusCode expected_code;
  grpc::StatusCode observed_code;
  int expected_attempts;
  int observed_attempts;
};

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "OTHER";
  }
}

class FaultSuiteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { rows_ = new std::vector<Row>; }

  static void TearDownTestSuite() {
    std::printf("\n%-34s %-8s %-19s %-19s %s\n", "fault", "rpc", "expected code", "observed code",
                "attempts (expected/observed)");
    for (const Row& r : *rows_) {
      std::printf("%-34s %-8s %-19s %-19s %d/%d\n", r.fault.c_str(), r.rpc.c_str(),
                  CodeName(r.expected_code), CodeName(r.observed_code), r.expected_attempts,
                  r.observed_attempts);
    }
    std::fflush(stdout);
    delete rows_;
  }

  void SetUp() override {
    h_ = Harness::Start(nullptr, [](ServerConfig& c) {
      c.upstream_timeout = absl::Seconds(3);
      c.max_attempts = 3;
      c.max_response_bytes = 256 * 1024;
    });
    ASSERT_NE(h_, nullptr);
    original_ = h_->Create(kUserA);
    h_->emulator().ClearRequests();
  }

  leafemu::Fault Fault(Kind kind, int status = 0, int times = -1) {
    leafemu::Fault f;
    f.kind = kind;
    f.status = status;
    f.times = times;
    f.path_contains = kPath;
    return f;
  }

  grpc::Status Get(absl::Duration timeout = absl::Seconds(10)) {
    v1::GetCredentialsRequest req;
    req.set_leaf_user_id(kUserA);
    v1::Credentials out;
    return h_->stub().GetCredentials(Harness::Context(timeout).get(), req, &out);
  }

  grpc::Status Create() {
    v1::CreateCredentialsRequest req;
    req.set_leaf_user_id(kUserB);
    req.set_refresh_token("fault-suite-refresh-token");
    req.set_public_key("pk");
    req.set_private_key("fault-suite-private-key");
    v1::Credentials out;
    return h_->stub().CreateCredentials(Harness::Context().get(), req, &out);
  }

  grpc::Status Delete() {
    v1::DeleteCredentialsRequest req;
    req.set_leaf_user_id(kUserA);
    google::protobuf::Empty out;
    return h_->stub().DeleteCredentials(Harness::Context().get(), req, &out);
  }

  // Runs `call` under `fault`, records and checks the row, then checks the
  // server is still healthy.
  void Check(const std::string& name, const std::string& rpc, const leafemu::Fault& fault,
             const std::function<grpc::Status()>& call, grpc::StatusCode expected_code,
             int expected_attempts) {
    h_->emulator().ClearRequests();
    h_->emulator().InjectFault(fault);
    grpc::Status st = call();
    h_->emulator().ClearFaults();
    const std::string method = rpc == "Create" ? "POST" : rpc == "Delete" ? "DELETE" : "GET";
    const int attempts = h_->emulator().CountRequests(method, kPath);
    rows_->push_back({name, rpc, expected_code, st.error_code(), expected_attempts, attempts});
    EXPECT_EQ(st.error_code(), expected_code) << name << ": " << st.error_message();
    EXPECT_EQ(attempts, expected_attempts) << name;
    ExpectHealthy(name);
  }

  void ExpectHealthy(const std::string& name) {
    auto health = grpc::health::v1::Health::NewStub(h_->channel());
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    grpc::Status st = health->Check(Harness::Context().get(), req, &resp);
    EXPECT_TRUE(st.ok()) << name;
    EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING) << name;
  }

  // The credential created in SetUp is still there, unchanged.
  void ExpectNotLost() {
    auto stored = h_->emulator().GetStored(kUserA);
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(stored->id, original_.id());
  }

  static std::vector<Row>* rows_;
  std::unique_ptr<Harness> h_;
  v1::Credentials original_;
};

std::vector<Row>* FaultSuiteTest::rows_ = nullptr;

TEST_F(FaultSuiteTest, LatencyBeyondTheDeadline) {
  leafemu::Fault f = Fault(Kind::kLatencyOnly);
  f.latency = absl::Seconds(5);
  Check(
      "latency 5s, deadline 500ms", "Get", f, [&] { return Get(absl::Milliseconds(500)); },
      grpc::StatusCode::DEADLINE_EXCEEDED, 1);
  ExpectNotLost();
}

TEST_F(FaultSuiteTest, Http500IsNotRetried) {
  Check(
      "500", "Get", Fault(Kind::kStatus, 500), [&] { return Get(); }, grpc::StatusCode::UNAVAILABLE,
      1);
}

TEST_F(FaultSuiteTest, Http502IsRetriedUpToTheLimit) {
  Check(
      "502 (every attempt)", "Get", Fault(Kind::kStatus, 502), [&] { return Get(); },
      grpc::StatusCode::UNAVAILABLE, 3);
}

TEST_F(FaultSuiteTest, Http503WithRetryAfterIsHonoured) {
  leafemu::Fault f = Fault(Kind::kStatus, 503, /*times=*/1);
  f.headers = {{"Retry-After", "1"}};
  const absl::Time start = absl::Now();
  Check(
      "503 + Retry-After: 1 (once)", "Get", f, [&] { return Get(); }, grpc::StatusCode::OK, 2);
  EXPECT_GE(absl::Now() - start, absl::Seconds(1));
}

TEST_F(FaultSuiteTest, Http429IsRetried) {
  Check(
      "429 (once)", "Get", Fault(Kind::kStatus, 429, 1), [&] { return Get(); },
      grpc::StatusCode::OK, 2);
}

TEST_F(FaultSuiteTest, ConnectionResetMidBodyOnGetIsRetried) {
  Check(
      "reset mid-body (every attempt)", "Get", Fault(Kind::kResetMidBody), [&] { return Get(); },
      grpc::StatusCode::UNAVAILABLE, 3);
}

TEST_F(FaultSuiteTest, TruncatedJson) {
  Check(
      "truncated JSON 200", "Get", Fault(Kind::kMalformedJson), [&] { return Get(); },
      grpc::StatusCode::INTERNAL, 1);
}

TEST_F(FaultSuiteTest, HtmlErrorPage) {
  Check(
      "HTML 502 page (every attempt)", "Get", Fault(Kind::kHtml, 502), [&] { return Get(); },
      grpc::StatusCode::UNAVAILABLE, 3);
}

TEST_F(FaultSuiteTest, EmptyOk) {
  Check(
      "empty 200", "Get", Fault(Kind::kEmptyBody), [&] { return Get(); },
      grpc::StatusCode::INTERNAL, 1);
}

TEST_F(FaultSuiteTest, HugeBody) {
  leafemu::Fault f = Fault(Kind::kHugeBody);
  f.huge_bytes = 8 << 20;
  Check(
      "huge body (8 MiB > 256 KiB limit)", "Get", f, [&] { return Get(); },
      grpc::StatusCode::INTERNAL, 1);
}

TEST_F(FaultSuiteTest, DeeplyNestedJsonCannotCrashTheServer) {
  // 200 KB of '[' overflowed a recursive JSON parser (found by fuzzing).
  leafemu::Fault error_page = Fault(Kind::kStatus, 503);
  error_page.body = std::string(200000, '[');
  Check(
      "503 with 200 KB of '[' (every attempt)", "Get", error_page, [&] { return Get(); },
      grpc::StatusCode::UNAVAILABLE, 3);
  leafemu::Fault ok_page = Fault(Kind::kStatus, 200);
  ok_page.body = std::string(200000, '[');
  Check(
      "200 with 200 KB of '['", "Get", ok_page, [&] { return Get(); }, grpc::StatusCode::INTERNAL,
      1);
}

TEST_F(FaultSuiteTest, SlowDripCannotHoldACallPastItsDeadline) {
  leafemu::Fault f = Fault(Kind::kSlowDrip);
  f.drip_interval = absl::Milliseconds(200);
  const absl::Time start = absl::Now();
  Check(
      "slow drip, deadline 1s", "Get", f, [&] { return Get(absl::Seconds(1)); },
      grpc::StatusCode::DEADLINE_EXCEEDED, 1);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST_F(FaultSuiteTest, CreateIsNeverRetriedOn503) {
  Check(
      "503 on create", "Create", Fault(Kind::kStatus, 503), [&] { return Create(); },
      grpc::StatusCode::UNAVAILABLE, 1);
  EXPECT_FALSE(h_->emulator().GetStored(kUserB).has_value());
}

TEST_F(FaultSuiteTest, CreateCutAfterLeafStoredItIsNotSentTwice) {
  Check(
      "reset mid-body on create", "Create", Fault(Kind::kResetMidBody), [&] { return Create(); },
      grpc::StatusCode::UNAVAILABLE, 1);
  // Leaf stored it exactly once; the caller was told it may have happened.
  auto stored = h_->emulator().GetStored(kUserB);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->Field("refreshToken"), "fault-suite-refresh-token");
}

TEST_F(FaultSuiteTest, DeleteCutAfterLeafDeletedSucceedsOnRetry) {
  Check(
      "reset mid-body on delete (once)", "Delete", Fault(Kind::kResetMidBody, 0, 1),
      [&] { return Delete(); }, grpc::StatusCode::OK, 2);
  EXPECT_FALSE(h_->emulator().GetStored(kUserA).has_value());
}

TEST_F(FaultSuiteTest, EmulatorKilledAndRestarted) {
  const int port = h_->emulator().port();
  auto before = h_->emulator().GetStored(kUserA);
  ASSERT_TRUE(before.has_value());
  h_->emulator().Stop();
  grpc::Status down = Get();
  rows_->push_back(
      {"emulator killed", "Get", grpc::StatusCode::UNAVAILABLE, down.error_code(), 3, -1});
  EXPECT_EQ(down.error_code(), grpc::StatusCode::UNAVAILABLE) << down.error_message();
  EXPECT_EQ(ErrorInfoOf(down).metadata().at("leaf_attempts"), "3");
  ExpectHealthy("emulator killed");

  // Leaf comes back (with its data: Leaf persists what the emulator keeps in memory).
  leafemu::EmulatorOptions options;
  options.port = port;
  options.static_tokens = {kStaticToken};
  auto restarted = leafemu::LeafEmulator::Start(options);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  (*restarted)->PutCredentials(kUserA, *before);
  grpc::Status up = Get();
  rows_->push_back({"emulator restarted", "Get", grpc::StatusCode::OK, up.error_code(), 1,
                    (*restarted)->CountRequests("GET", kPath)});
  EXPECT_TRUE(up.ok()) << up.error_message();
  ExpectHealthy("emulator restarted");
}

}  // namespace
}  // namespace leafsvc::testing
