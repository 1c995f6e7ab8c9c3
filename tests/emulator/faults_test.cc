// Tests of each fault kind and of the fault plan's matching (faults.cc) through
// real HTTP.
#include <httplib.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "emulator/leaf_emulator.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/emulator/emulator_fixture.h"

namespace leafemu {
namespace {

using namespace emutest;  // NOLINT: the shared fixture's constants and helpers

using FaultsTest = EmulatorTest;

TEST_F(FaultsTest, StatusFaultAnswersGivenStatusAndHeaders) {
  Fault f;
  f.kind = Fault::Kind::kStatus;
  f.status = 429;
  f.headers["Retry-After"] = "1";
  emu_->InjectFault(f);
  auto res = GetCreds();
  ExpectProblem(res, 429);
  EXPECT_EQ(res->get_header_value("Retry-After"), "1");
  ExpectProblem(GetCreds(), 404);  // times = 1: used up
}

TEST_F(FaultsTest, StatusFaultWithCustomBody) {
  Fault f;
  f.kind = Fault::Kind::kStatus;
  f.status = 503;
  f.body = "{\"oops\":true}";
  emu_->InjectFault(f);
  auto res = GetCreds();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->body, "{\"oops\":true}");
}

TEST_F(FaultsTest, LatencyFaultDelaysThenAnswersNormally) {
  Fault f;
  f.kind = Fault::Kind::kLatencyOnly;
  f.latency = absl::Milliseconds(300);
  emu_->InjectFault(f);
  absl::Time start = absl::Now();
  auto res = GetCreds();
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
  ExpectProblem(res, 404, "credentialsnotfound");
}

TEST_F(FaultsTest, MalformedJsonFaultServesTruncatedJson) {
  Fault f;
  f.kind = Fault::Kind::kMalformedJson;
  emu_->InjectFault(f);
  auto res = GetCreds();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  EXPECT_FALSE(res->body.empty());
  rapidjson::Document d;
  d.Parse(res->body.c_str());
  EXPECT_TRUE(d.HasParseError());
}

TEST_F(FaultsTest, EmptyBodyFaultServesEmptyBody) {
  Fault f;
  f.kind = Fault::Kind::kEmptyBody;
  f.status = 500;
  emu_->InjectFault(f);
  auto res = GetCreds();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_TRUE(res->body.empty());
}

TEST_F(FaultsTest, HtmlFaultServesGatewayPage) {
  Fault f;
  f.kind = Fault::Kind::kHtml;
  emu_->InjectFault(f);
  auto res = GetCreds();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 502);
  EXPECT_TRUE(absl::StartsWith(res->get_header_value("Content-Type"), "text/html"));
  EXPECT_TRUE(absl::StrContains(res->body, "<html>"));
}

TEST_F(FaultsTest, CloseConnectionFaultGivesClientError) {
  Fault f;
  f.kind = Fault::Kind::kCloseConnection;
  emu_->InjectFault(f);
  auto res = GetCreds();
  EXPECT_FALSE(res);
  std::vector<RecordedRequest> reqs = emu_->Requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].status, 0);
  ExpectProblem(GetCreds(), 404);  // the server still works
}

TEST_F(FaultsTest, ResetMidBodyFaultGivesClientError) {
  ASSERT_EQ(CreateCreds()->status, 201);
  Fault f;
  f.kind = Fault::Kind::kResetMidBody;
  f.method = "GET";
  emu_->InjectFault(f);
  // Read the raw bytes: headers and part of the body arrive, then EOF.
  std::string received;
  auto res = NewClient()->Get(kCredsPath, Auth(), [&](const char* data, size_t n) {
    received.append(data, n);
    return true;
  });
  EXPECT_FALSE(res);
  EXPECT_FALSE(received.empty());
  EXPECT_TRUE(absl::StartsWith(received, "{\"id\":")) << received;
  EXPECT_EQ(emu_->Requests().back().status, 0);
}

TEST_F(FaultsTest, HugeBodyFaultServesExactlyHugeBytesOfJson) {
  Fault f;
  f.kind = Fault::Kind::kHugeBody;
  f.huge_bytes = 3 << 20;
  emu_->InjectFault(f);
  auto res = GetCreds();
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body.size(), static_cast<size_t>(3 << 20));
  rapidjson::Document d;
  d.Parse(res->body.c_str());
  EXPECT_FALSE(d.HasParseError());
}

TEST_F(FaultsTest, SlowDripFaultSendsOneBytePerInterval) {
  Fault f;
  f.kind = Fault::Kind::kSlowDrip;
  f.body = "{\"a\":1}";  // 7 bytes
  f.drip_interval = absl::Milliseconds(40);
  emu_->InjectFault(f);
  absl::Time start = absl::Now();
  auto res = GetCreds();
  absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "{\"a\":1}");
  EXPECT_GE(took, absl::Milliseconds(7 * 40));
}

TEST_F(FaultsTest, FaultTimesCountsDownAndMinusOneLastsUntilCleared) {
  Fault twice;
  twice.kind = Fault::Kind::kStatus;
  twice.status = 503;
  twice.times = 2;
  emu_->InjectFault(twice);
  EXPECT_EQ(GetCreds()->status, 503);
  EXPECT_EQ(GetCreds()->status, 503);
  EXPECT_EQ(GetCreds()->status, 404);

  Fault forever = twice;
  forever.times = -1;
  emu_->InjectFault(forever);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(GetCreds()->status, 503);
  emu_->ClearFaults();
  EXPECT_EQ(GetCreds()->status, 404);
}

TEST_F(FaultsTest, FaultProbabilityHitsAboutThatShareOfRequests) {
  Fault sometimes;
  sometimes.kind = Fault::Kind::kStatus;
  sometimes.status = 503;
  sometimes.times = -1;
  sometimes.probability = 0.25;
  emu_->InjectFault(sometimes);
  int hit = 0;
  for (int i = 0; i < 400; ++i) {
    if (GetCreds()->status == 503) ++hit;
  }
  // 400 draws at p=0.25: mean 100, sd ~8.7; these bounds are > 5 sd away.
  EXPECT_GT(hit, 50);
  EXPECT_LT(hit, 150);
}

TEST_F(FaultsTest, FaultMatchesMethodAndPathAndFirstMatchWins) {
  Fault post_only;
  post_only.kind = Fault::Kind::kStatus;
  post_only.status = 500;
  post_only.method = "POST";
  post_only.path_contains = "ag-leader-credentials";
  Fault any;
  any.kind = Fault::Kind::kStatus;
  any.status = 502;
  emu_->InjectFault(post_only);
  emu_->InjectFault(any);
  EXPECT_EQ(CreateCreds()->status, 500);  // first match
  EXPECT_EQ(GetCreds()->status, 502);     // only `any` matches GET
  EXPECT_EQ(GetCreds()->status, 404);     // both used up

  Fault login_only;
  login_only.kind = Fault::Kind::kStatus;
  login_only.status = 503;
  login_only.path_contains = "/api/authenticate";
  emu_->InjectFault(login_only);
  EXPECT_EQ(GetCreds()->status, 404);
  EXPECT_EQ(Login(R"({"username":"grower@example.com","password":"s3cret"})")->status, 503);
}

}  // namespace
}  // namespace leafemu
