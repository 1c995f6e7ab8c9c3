// Unit tests of the AgLeader exchange events (agleader_events.h).
#include "emulator/agleader_events.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace leafemu {
namespace {

TEST(AgLeaderEventsTest, OkEventIsARealisticOAuthTokenResponseWithAFreshToken) {
  StoredEvent a = OkEvent(), b = OkEvent();
  EXPECT_EQ(a.status_code, 200);
  EXPECT_EQ(a.headers, "Content-Type: application/json");
  rapidjson::Document d;
  d.Parse(a.body.c_str());
  ASSERT_TRUE(d.IsObject()) << a.body;
  ASSERT_TRUE(d["access_token"].IsString());
  EXPECT_EQ(d["access_token"].GetStringLength(), 32u);  // 16 random bytes, hex
  EXPECT_STREQ(d["token_type"].GetString(), "bearer");
  EXPECT_EQ(d["expires_in"].GetInt(), 3600);
  EXPECT_NE(a.body, b.body);
  EXPECT_NE(a.id, b.id);
  EXPECT_FALSE(a.created_date.empty());
}

TEST(AgLeaderEventsTest, UnauthenticatedEventIsInvalidGrant) {
  StoredEvent e = UnauthenticatedEvent();
  EXPECT_EQ(e.status_code, 401);
  EXPECT_TRUE(absl::StrContains(e.body, "\"error\":\"invalid_grant\"")) << e.body;
}

TEST(AgLeaderEventsTest, StatusChangeEventCodes) {
  EXPECT_EQ(StatusChangeEvent("OK").status_code, 200);
  EXPECT_TRUE(absl::StrContains(StatusChangeEvent("OK").body, "access_token"));
  EXPECT_EQ(StatusChangeEvent("UNAUTHENTICATED").status_code, 401);
  EXPECT_EQ(StatusChangeEvent("MISSING_PERMISSION").status_code, 403);
  EXPECT_EQ(StatusChangeEvent("TEMPORARILY_UNAVAILABLE").status_code, 503);
  StoredEvent other = StatusChangeEvent("WEIRD \"ONE\"");
  EXPECT_EQ(other.status_code, 400);
  EXPECT_EQ(other.body, R"({"error":"WEIRD \"ONE\""})");
}

}  // namespace
}  // namespace leafemu
