// Unit tests of Leaf's JSON representations the emulator serves
// (emulator/leaf_json.h): credentials by the provider's spec, and events.
#include "emulator/leaf_json.h"

#include <string>

#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace leafemu {
namespace {

rapidjson::Document Parse(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  EXPECT_FALSE(d.HasParseError()) << json;
  return d;
}

const ProviderSpec& AgLeader() { return ::leafsvc::providers::AgLeaderSpec(); }

StoredCredentials Sample() {
  StoredCredentials c;
  c.id = "id";
  c.status = "OK";
  c.created_time = "2023-04-21T12:16:27.997586Z";
  c.fields = {{"refreshToken", "rt"}, {"publicKey", "pub"}, {"privateKey", "priv"}};
  return c;
}

TEST(LeafJsonTest, CredentialsServeAnEmptyAccessTokenAsNull) {
  StoredCredentials c = Sample();
  rapidjson::Document d = Parse(CredentialsJson(c, AgLeader()));
  EXPECT_STREQ(d["id"].GetString(), "id");
  EXPECT_STREQ(d["status"].GetString(), "OK");
  EXPECT_STREQ(d["createdTime"].GetString(), "2023-04-21T12:16:27.997586Z");
  EXPECT_TRUE(d["accessToken"].IsNull());
  EXPECT_STREQ(d["refreshToken"].GetString(), "rt");
  EXPECT_STREQ(d["publicKey"].GetString(), "pub");
  EXPECT_STREQ(d["privateKey"].GetString(), "priv");
  c.fields["accessToken"] = "at";
  EXPECT_STREQ(Parse(CredentialsJson(c, AgLeader()))["accessToken"].GetString(), "at");
}

TEST(LeafJsonTest, RequiredFieldsAreStringsEvenWhenEmpty) {
  StoredCredentials c;
  c.id = "id";
  rapidjson::Document d = Parse(CredentialsJson(c, AgLeader()));
  ASSERT_TRUE(d["refreshToken"].IsString());
  EXPECT_STREQ(d["refreshToken"].GetString(), "");
  EXPECT_STREQ(d["status"].GetString(), "");
}

// Only the provider's fields are served, under its names, in its order;
// values are escaped.
TEST(LeafJsonTest, CredentialsAreTheSpecsFields) {
  ProviderSpec spec;
  spec.fields = {{"clientSecret", "refresh_token", true, true},
                 {"clientId", "public_key", false, true},
                 {"extra", "access_token", true, false}};
  StoredCredentials c;
  c.id = "t1";
  c.status = "GREEN";
  c.fields = {{"clientSecret", "s\"\\\n"}, {"clientId", "ci"}, {"refreshToken", "stray"}};
  const std::string json = CredentialsJson(c, spec);
  EXPECT_EQ(json, R"({"id":"t1","status":"GREEN","createdTime":"","clientSecret":"s\"\\\n",)"
                  R"("clientId":"ci","extra":null})");
  EXPECT_STREQ(Parse(json)["clientSecret"].GetString(), "s\"\\\n");
}

TEST(LeafJsonTest, EventsInTheOrderGiven) {
  StoredEvent a{"a", "t1", 200, "h", "{\"x\":1}"};
  StoredEvent b{"b", "t2", 401, "", ""};
  rapidjson::Document events = Parse(EventsJson({a, b}));
  ASSERT_EQ(events.Size(), 2u);
  EXPECT_STREQ(events[0]["id"].GetString(), "a");
  EXPECT_STREQ(events[0]["createdDate"].GetString(), "t1");
  EXPECT_EQ(events[0]["statusCode"].GetInt(), 200);
  EXPECT_STREQ(events[0]["headers"].GetString(), "h");
  EXPECT_STREQ(events[0]["body"].GetString(), "{\"x\":1}");
  EXPECT_STREQ(events[1]["id"].GetString(), "b");
  EXPECT_EQ(events[1]["statusCode"].GetInt(), 401);
  EXPECT_EQ(EventsJson({}), "[]");
}

}  // namespace
}  // namespace leafemu
