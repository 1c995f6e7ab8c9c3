// Unit tests of the fault plan and the fault bodies (faults.h), without a
// server; faults_test.cc applies each kind through real HTTP.
#include <string>

#include "absl/strings/match.h"
#include "emulator/faults.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace leafemu {
namespace {

Fault StatusFault(int status, int times) {
  Fault f;
  f.status = status;
  f.times = times;
  return f;
}

TEST(FaultPlanTest, TimesCountDownAndMinusOneLastsUntilCleared) {
  FaultPlan plan;
  EXPECT_FALSE(plan.Take("GET", "/a"));
  plan.Inject(StatusFault(503, 2));
  EXPECT_EQ(plan.Take("GET", "/a")->status, 503);
  EXPECT_EQ(plan.Take("GET", "/a")->status, 503);
  EXPECT_FALSE(plan.Take("GET", "/a"));
  plan.Inject(StatusFault(502, -1));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(plan.Take("GET", "/a")->status, 502);
  plan.Clear();
  EXPECT_FALSE(plan.Take("GET", "/a"));
}

TEST(FaultPlanTest, FirstMatchingFaultWins) {
  FaultPlan plan;
  Fault post_only = StatusFault(500, 1);
  post_only.method = "post";
  post_only.path_contains = "credentials";
  plan.Inject(post_only);
  plan.Inject(StatusFault(502, 1));
  EXPECT_EQ(plan.Take("GET", "/credentials")->status, 502);
  EXPECT_EQ(plan.Take("POST", "/credentials")->status, 500);
  EXPECT_FALSE(plan.Take("POST", "/credentials"));
}

TEST(FaultPlanTest, ProbabilityZeroNeverHitsAndDoesNotCountDown) {
  FaultPlan plan;
  Fault never = StatusFault(503, 1);
  never.probability = 0.0;
  plan.Inject(never);
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(plan.Take("GET", "/a"));
  Fault half = StatusFault(503, -1);
  half.probability = 0.5;
  plan.Inject(half);
  int hit = 0;
  for (int i = 0; i < 400; ++i) hit += plan.Take("GET", "/a") ? 1 : 0;
  // Mean 200, sd 10: these bounds are 8 sd away.
  EXPECT_GT(hit, 120);
  EXPECT_LT(hit, 280);
}

TEST(FaultPlanTest, KindNamesRoundTrip) {
  for (const char* name : {"status", "latency_only", "malformed_json", "empty_body", "html",
                           "close_connection", "reset_mid_body", "huge_body", "slow_drip"}) {
    auto kind = FaultKindFromName(name);
    ASSERT_TRUE(kind) << name;
    EXPECT_STREQ(FaultKindName(*kind), name);
  }
  EXPECT_FALSE(FaultKindFromName("Status"));
}

TEST(FaultBodiesTest, HugeBodyIsExactlySizedJsonInAnyChunking) {
  for (size_t n : {1u, 2u, 5u, 11u, 12u, 1000u}) {
    HugeBody body(n);
    std::string whole, piece;
    for (size_t offset = 0; offset < n; offset += 7) {
      body.Fill(offset, std::min<size_t>(7, n - offset), piece);
      whole += piece;
    }
    ASSERT_EQ(whole.size(), n);
    if (n >= 2) {
      rapidjson::Document d;
      d.Parse(whole.c_str());
      EXPECT_FALSE(d.HasParseError()) << n << ": " << whole;
    }
  }
}

TEST(FaultBodiesTest, GatewayHtmlAndContentTypeGuess) {
  std::string html = GatewayHtml(503);
  EXPECT_TRUE(absl::StrContains(html, "<title>503 Service Unavailable</title>"));
  EXPECT_TRUE(absl::StrContains(html, "nginx"));
  EXPECT_EQ(GuessContentType("  {\"a\":1}"), "application/json");
  EXPECT_EQ(GuessContentType("[1]"), "application/json");
  EXPECT_EQ(GuessContentType("<html>"), "text/html");
  EXPECT_EQ(GuessContentType("down"), "text/plain");
}

}  // namespace
}  // namespace leafemu
