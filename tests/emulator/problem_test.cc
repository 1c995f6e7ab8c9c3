// Unit tests of problem+json (problem.h), Leaf's JSON (leaf_json.h) and the
// JSON helpers (json.h).
#include "emulator/problem.h"

#include <string>

#include "emulator/json.h"
#include "emulator/leaf_json.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace leafemu {
namespace {

rapidjson::Document Parse(const std::string& s) {
  rapidjson::Document d;
  d.Parse(s.c_str());
  return d;
}

TEST(ProblemTest, DefaultsAndGatewayPrefixedPath) {
  Problem p;
  p.status = 404;
  rapidjson::Document d = Parse(ProblemJson(p, "/services/usermanagement/api/users/x"));
  EXPECT_STREQ(d["type"].GetString(), "https://www.jhipster.tech/problem/problem-with-message");
  EXPECT_STREQ(d["title"].GetString(), "Not Found");
  EXPECT_EQ(d["status"].GetInt(), 404);
  EXPECT_STREQ(d["path"].GetString(), "/api/users/x");
  EXPECT_STREQ(d["message"].GetString(), "error.http.404");
  EXPECT_FALSE(d.HasMember("detail"));
  EXPECT_FALSE(d.HasMember("errorKey"));
  EXPECT_FALSE(d.HasMember("fieldErrors"));
  EXPECT_EQ(ProblemPath("/api/authenticate"), "/api/authenticate");
}

TEST(ProblemTest, AllFields) {
  Problem p;
  p.status = 400;
  p.title = "Method argument not valid";
  p.detail = "d";
  p.message = "error.validation";
  p.error_key = "k";
  p.field_errors.push_back({"agLeaderCredentials", "refreshToken", "NotNull"});
  rapidjson::Document d = Parse(ProblemJson(p, "/x"));
  EXPECT_STREQ(d["title"].GetString(), "Method argument not valid");
  EXPECT_STREQ(d["detail"].GetString(), "d");
  EXPECT_STREQ(d["errorKey"].GetString(), "k");
  ASSERT_EQ(d["fieldErrors"].Size(), 1u);
  EXPECT_STREQ(d["fieldErrors"][0]["field"].GetString(), "refreshToken");
}

TEST(ProblemTest, StatusTitles) {
  EXPECT_EQ(StatusTitle(429), "Too Many Requests");
  EXPECT_EQ(StatusTitle(204), "OK");
  EXPECT_EQ(StatusTitle(418), "HTTP 418");
  Problem p = CredentialsNotFound("u-1", "AgLeader");
  EXPECT_EQ(p.status, 404);
  EXPECT_EQ(p.error_key, "credentialsnotfound");
  EXPECT_EQ(p.title, "AgLeader credentials not found");
  EXPECT_EQ(p.detail, "User u-1 has no AgLeader credentials");
  EXPECT_EQ(CredentialsNotFound("u-1", "Testland").detail, "User u-1 has no Testland credentials");
}

TEST(JsonTest, MembersAreReadLeniently) {
  rapidjson::Document d;
  ASSERT_TRUE(ParseObject(R"({"s":"x","n":"42","f":2.9,"b":"TRUE","c":false,"z":null})", d));
  EXPECT_EQ(StringMember(d, "s"), "x");
  EXPECT_FALSE(StringMember(d, "z"));
  EXPECT_EQ(IntMember(d, "n"), 42);
  EXPECT_EQ(IntMember(d, "f"), 2);
  EXPECT_FALSE(IntMember(d, "s"));
  EXPECT_EQ(BoolMember(d, "b"), true);
  EXPECT_EQ(BoolMember(d, "c"), false);
  EXPECT_FALSE(BoolMember(d, "s"));
  EXPECT_FALSE(ParseObject("[1]", d));
  EXPECT_EQ(JsonQuote("a\"b"), R"("a\"b")");
}

}  // namespace
}  // namespace leafemu
