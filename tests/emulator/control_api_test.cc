// Tests of the /_emulator/ control API (control_api.cc) through real HTTP.
#include <httplib.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "emulator/leaf_emulator.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/emulator/emulator_fixture.h"

namespace leafemu {
namespace {

using namespace emutest;  // NOLINT: the shared fixture's constants and helpers

using ControlApiTest = EmulatorTest;

TEST_F(ControlApiTest, HttpControlHealthAndReset) {
  auto c = NewClient();
  auto health = c->Get("/_emulator/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_STREQ(Parse(health->body)["status"].GetString(), "ok");
  ASSERT_EQ(CreateCreds()->status, 201);
  EXPECT_EQ(c->Post("/_emulator/reset", "", "application/json")->status, 200);
  EXPECT_FALSE(emu_->GetStored(kLeafUser));
}

TEST_F(ControlApiTest, HttpControlDuplicateMode) {
  auto c = NewClient();
  EXPECT_EQ(
      c->Post("/_emulator/duplicate-mode", R"({"mode":"conflict"})", "application/json")->status,
      200);
  ASSERT_EQ(CreateCreds()->status, 201);
  EXPECT_EQ(CreateCreds()->status, 409);
  EXPECT_EQ(
      c->Post("/_emulator/duplicate-mode", R"({"mode":"bad_request"})", "application/json")->status,
      200);
  EXPECT_EQ(CreateCreds()->status, 400);
  EXPECT_EQ(c->Post("/_emulator/duplicate-mode", R"({"mode":"nope"})", "application/json")->status,
            400);
}

TEST_F(ControlApiTest, HttpControlFaultsAndRequests) {
  auto c = NewClient();
  auto added = c->Post(
      "/_emulator/faults",
      R"({"kind":"status","status":503,"times":-1,"method":"GET","path_contains":"ag-leader","headers":{"Retry-After":"2"}})",
      "application/json");
  ASSERT_TRUE(added);
  EXPECT_EQ(added->status, 200);
  auto res = GetCreds();
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->get_header_value("Retry-After"), "2");
  EXPECT_EQ(GetCreds()->status, 503);
  EXPECT_EQ(c->Delete("/_emulator/faults")->status, 200);
  EXPECT_EQ(GetCreds()->status, 404);

  EXPECT_EQ(c->Post("/_emulator/faults", R"({"kind":"bogus"})", "application/json")->status, 400);
  // Every kind name parses.
  for (const char* kind : {"status", "latency_only", "malformed_json", "empty_body", "html",
                           "close_connection", "reset_mid_body", "huge_body", "slow_drip"}) {
    EXPECT_EQ(c->Post("/_emulator/faults",
                      absl::StrCat(R"({"kind":")", kind, R"(","path_contains":"/never"})"),
                      "application/json")
                  ->status,
              200)
        << kind;
  }
  EXPECT_EQ(c->Delete("/_emulator/faults")->status, 200);
  c->Post("/_emulator/faults", R"({"kind":"slow_drip","body":"{}","drip_interval_ms":30})",
          "application/json");
  absl::Time start = absl::Now();
  EXPECT_EQ(GetCreds()->body, "{}");
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(60));

  auto reqs = c->Get("/_emulator/requests");
  ASSERT_TRUE(reqs);
  rapidjson::Document d = Parse(reqs->body);
  ASSERT_TRUE(d.IsArray());
  ASSERT_EQ(d.Size(), 4u);
  EXPECT_STREQ(d[0]["method"].GetString(), "GET");
  EXPECT_STREQ(d[0]["path"].GetString(), kCredsPath);
  EXPECT_EQ(d[0]["status"].GetInt(), 503);
  EXPECT_TRUE(d[0]["headers"].HasMember("authorization"));
  auto count = c->Get("/_emulator/requests/count?method=GET&path_contains=ag-leader");
  EXPECT_EQ(Parse(count->body)["count"].GetInt(), 4);
  EXPECT_EQ(c->Delete("/_emulator/requests")->status, 200);
  EXPECT_TRUE(emu_->Requests().empty());
}

TEST_F(ControlApiTest, HttpControlUserStatusCredentialsAndEvents) {
  auto c = NewClient();
  std::string base = absl::StrCat("/_emulator/users/", kLeafUser);
  EXPECT_EQ(
      c->Post(base + "/status", R"({"status":"UNAUTHENTICATED"})", "application/json")->status,
      404);
  EXPECT_EQ(c->Get(base + "/credentials")->status, 404);
  ASSERT_EQ(CreateCreds()->status, 201);

  EXPECT_EQ(
      c->Post(base + "/status", R"({"status":"MISSING_PERMISSION"})", "application/json")->status,
      200);
  EXPECT_STREQ(Parse(GetCreds()->body)["status"].GetString(), "MISSING_PERMISSION");

  auto stored = c->Get(base + "/credentials");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->status, 200);
  EXPECT_STREQ(Parse(stored->body)["privateKey"].GetString(), "priv-789");

  EXPECT_EQ(
      c->Post(base + "/events", R"({"statusCode":503,"headers":"Retry-After: 5","body":"down"})",
              "application/json")
          ->status,
      200);
  rapidjson::Document events = Parse(GetEvents()->body);
  ASSERT_EQ(events.Size(), 3u);
  EXPECT_EQ(events[0]["statusCode"].GetInt(), 503);
  EXPECT_STREQ(events[0]["body"].GetString(), "down");
  EXPECT_EQ(events[1]["statusCode"].GetInt(), 403);
}

TEST_F(ControlApiTest, HttpControlUnknownEndpointIs404) {
  ExpectProblem(NewClient()->Get("/_emulator/nope"), 404);
}

TEST_F(ControlApiTest, HttpControlRateLimitChangesMidRunAndStatsCountIt) {
  auto c = NewClient();
  auto stats = [&c] { return Parse(c->Get("/_emulator/stats")->body); };
  rapidjson::Document s = stats();
  for (const char* field : {"login_count", "request_count", "rate_limited_count",
                            "requests_in_last_minute", "max_requests_in_any_minute"}) {
    ASSERT_TRUE(s.HasMember(field) && s[field].IsInt()) << field;
    EXPECT_EQ(s[field].GetInt(), 0) << field;
  }
  EXPECT_EQ(c->Get("/_emulator/rate_limit")->body,
            R"({"per_minute":0,"retry_after_seconds":null})");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(GetCreds()->status, 404);
  auto set = c->Post("/_emulator/rate_limit", R"({"per_minute":5,"retry_after_seconds":3})",
                     "application/json");
  ASSERT_TRUE(set);
  EXPECT_EQ(set->status, 200);
  EXPECT_EQ(set->body, R"({"per_minute":5,"retry_after_seconds":3})");
  EXPECT_EQ(GetCreds()->status, 404);  // the fifth in the window
  auto refused = GetCreds();
  EXPECT_EQ(refused->status, 429);
  EXPECT_EQ(refused->get_header_value("Retry-After"), "3");
  EXPECT_EQ(GetCreds()->status, 429);
  s = stats();
  EXPECT_EQ(s["rate_limited_count"].GetInt(), 2);
  EXPECT_EQ(s["requests_in_last_minute"].GetInt(), 5);
  EXPECT_EQ(s["max_requests_in_any_minute"].GetInt(), 5);
  EXPECT_EQ(s["request_count"].GetInt(), 7);

  EXPECT_EQ(c->Post("/_emulator/rate_limit", R"({"per_minute":0})", "application/json")->body,
            R"({"per_minute":0,"retry_after_seconds":null})");
  EXPECT_EQ(GetCreds()->status, 404);
  s = stats();
  EXPECT_EQ(s["requests_in_last_minute"].GetInt(), 6);
  EXPECT_EQ(s["max_requests_in_any_minute"].GetInt(), 6);

  EXPECT_EQ(c->Post("/_emulator/reset", "", "application/json")->status, 200);
  s = stats();
  EXPECT_EQ(s["rate_limited_count"].GetInt(), 0);
  EXPECT_EQ(s["requests_in_last_minute"].GetInt(), 0);
  EXPECT_EQ(s["max_requests_in_any_minute"].GetInt(), 0);
}

TEST_F(ControlApiTest, HttpControlResetRestoresTheConfiguredRateLimit) {
  EmulatorOptions o = DefaultOptions();
  o.rate_limit_per_minute = 2;
  o.rate_limit_retry_after_seconds = 60;
  StartWith(o);
  auto c = NewClient();
  EXPECT_EQ(c->Get("/_emulator/rate_limit")->body, R"({"per_minute":2,"retry_after_seconds":60})");
  c->Post("/_emulator/rate_limit", R"({"per_minute":100})", "application/json");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(GetCreds()->status, 404);
  EXPECT_EQ(c->Post("/_emulator/reset", "", "application/json")->status, 200);
  EXPECT_EQ(c->Get("/_emulator/rate_limit")->body, R"({"per_minute":2,"retry_after_seconds":60})");
  // The window was forgotten: two more, not none.
  EXPECT_EQ(GetCreds()->status, 404);
  EXPECT_EQ(GetCreds()->status, 404);
  EXPECT_EQ(GetCreds()->status, 429);
}

TEST_F(ControlApiTest, HttpControlRateLimitRefusesBadBodies) {
  auto c = NewClient();
  c->Post("/_emulator/rate_limit", R"({"per_minute":7})", "application/json");
  for (const char* body :
       {"", "[]", "{}", R"({"per_minute":-1})", R"({"per_minute":"many"})",
        R"({"per_minute":true})", R"({"per_minute":null})", R"({"per_minute":2000000000})",
        R"({"per_minute":5,"retry_after_seconds":-2})",
        R"({"per_minute":5,"retry_after_seconds":"soon"})"}) {
    auto res = c->Post("/_emulator/rate_limit", body, "application/json");
    ExpectProblem(res, 400);
    EXPECT_TRUE(absl::StrContains(Parse(res->body)["detail"].GetString(), "per_minute")) << body;
  }
  EXPECT_EQ(c->Get("/_emulator/rate_limit")->body,
            R"({"per_minute":7,"retry_after_seconds":null})");
}

}  // namespace
}  // namespace leafemu
