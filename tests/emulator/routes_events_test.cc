// Tests of GET .../ag-leader-credentials/events (routes_events.cc) through real HTTP.
#include <httplib.h>

#include <string>

#include "absl/strings/match.h"
#include "emulator/leaf_emulator.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/emulator/emulator_fixture.h"

namespace leafemu {
namespace {

using namespace emutest;  // NOLINT: the shared fixture's constants and helpers

using EventRoutesTest = EmulatorTest;

TEST_F(EventRoutesTest, EventsAfterCreateHaveOneSuccessWithoutSecrets) {
  ASSERT_EQ(CreateCreds()->status, 201);
  auto res = GetEvents();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  rapidjson::Document d = Parse(res->body);
  ASSERT_TRUE(d.IsArray()) << res->body;
  ASSERT_EQ(d.Size(), 1u);
  const auto& e = d[0];
  EXPECT_TRUE(e["id"].IsString());
  EXPECT_TRUE(e["createdDate"].IsString());
  EXPECT_EQ(e["statusCode"].GetInt(), 200);
  EXPECT_TRUE(absl::StrContains(e["headers"].GetString(), "Content-Type"));
  ASSERT_TRUE(e["body"].IsString());
  EXPECT_TRUE(absl::StrContains(e["body"].GetString(), "access_token"));
  for (const char* secret : {"rt-123", "pub-456", "priv-789"}) {
    EXPECT_FALSE(absl::StrContains(res->body, secret)) << secret;
  }
}

TEST_F(EventRoutesTest, EventsAreNewestFirst) {
  ASSERT_EQ(CreateCreds()->status, 201);
  StoredEvent e;
  e.id = "later";
  e.status_code = 401;
  e.headers = "Content-Type: application/json";
  e.body = "{\"error\":\"invalid_grant\"}";
  ASSERT_TRUE(emu_->AddEvent(kLeafUser, e));
  rapidjson::Document d = Parse(GetEvents()->body);
  ASSERT_EQ(d.Size(), 2u);
  EXPECT_EQ(GetEvents()->get_header_value("X-Total-Count"), "2");
  EXPECT_STREQ(d[0]["id"].GetString(), "later");
  EXPECT_EQ(d[0]["statusCode"].GetInt(), 401);
  EXPECT_EQ(d[1]["statusCode"].GetInt(), 200);
  EXPECT_FALSE(emu_->AddEvent("00000000-0000-0000-0000-000000000000", e));
}

}  // namespace
}  // namespace leafemu
