// Tests of POST /api/authenticate (routes_login.cc) through real HTTP.
#include <httplib.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "emulator/leaf_emulator.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/emulator/emulator_fixture.h"

namespace leafemu {
namespace {

using namespace emutest;  // NOLINT: the shared fixture's constants and helpers

using LoginRouteTest = EmulatorTest;

TEST_F(LoginRouteTest, LoginWithGoodAccountReturnsHs512Jwt) {
  absl::Time before = absl::Now();
  auto res = Login(R"({"username":"grower@example.com","password":"s3cret"})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  rapidjson::Document d = Parse(res->body);
  ASSERT_TRUE(d.IsObject() && d.HasMember("id_token")) << res->body;
  std::vector<std::string> parts = absl::StrSplit(d["id_token"].GetString(), '.');
  ASSERT_EQ(parts.size(), 3u);
  rapidjson::Document header = Parse(Base64UrlDecode(parts[0]));
  ASSERT_TRUE(header.IsObject());
  EXPECT_STREQ(header["alg"].GetString(), "HS512");
  EXPECT_STREQ(header["typ"].GetString(), "JWT");
  rapidjson::Document payload = Parse(Base64UrlDecode(parts[1]));
  ASSERT_TRUE(payload.IsObject());
  EXPECT_STREQ(payload["sub"].GetString(), kUser);
  EXPECT_STREQ(payload["auth"].GetString(), "ROLE_USER");
  // rememberMe missing: 24 h.
  int64_t exp = payload["exp"].GetInt64();
  EXPECT_NEAR(exp, absl::ToUnixSeconds(before + absl::Hours(24)), 5);
  EXPECT_EQ(Base64UrlDecode(parts[2]).size(), 64u);  // SHA-512
  EXPECT_EQ(emu_->LoginCount(), 1);
}

TEST_F(LoginRouteTest, LoginRememberMeAsBooleanGives30DayToken) {
  auto res = Login(R"({"username":"grower@example.com","password":"s3cret","rememberMe":true})");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  std::vector<std::string> parts = absl::StrSplit(Parse(res->body)["id_token"].GetString(), '.');
  rapidjson::Document payload = Parse(Base64UrlDecode(parts[1]));
  EXPECT_NEAR(payload["exp"].GetInt64(), absl::ToUnixSeconds(absl::Now() + absl::Hours(24 * 30)),
              5);
}

TEST_F(LoginRouteTest, LoginRememberMeAsStringIsAccepted) {
  for (const char* value : {"true", "false"}) {
    auto res = Login(absl::StrCat(
        R"({"username":"grower@example.com","password":"s3cret","rememberMe":")", value, "\"}"));
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << value;
    std::vector<std::string> parts = absl::StrSplit(Parse(res->body)["id_token"].GetString(), '.');
    rapidjson::Document payload = Parse(Base64UrlDecode(parts[1]));
    absl::Duration lifetime = std::string(value) == "true" ? absl::Hours(24 * 30) : absl::Hours(24);
    EXPECT_NEAR(payload["exp"].GetInt64(), absl::ToUnixSeconds(absl::Now() + lifetime), 5) << value;
  }
  EXPECT_EQ(emu_->LoginCount(), 2);
}

TEST_F(LoginRouteTest, LoginWithBadPasswordIs401Problem) {
  ExpectProblem(Login(R"({"username":"grower@example.com","password":"wrong"})"), 401);
  ExpectProblem(Login(R"({"username":"nobody@example.com","password":"s3cret"})"), 401);
  EXPECT_EQ(emu_->LoginCount(), 0);
}

TEST_F(LoginRouteTest, LoginWithMalformedBodyIs401Problem) {
  ExpectProblem(Login("{not json"), 401);
  ExpectProblem(Login(R"({"username":"grower@example.com"})"), 401);
  EXPECT_EQ(emu_->LoginCount(), 0);
}

TEST_F(LoginRouteTest, LoginWithGetIs405) {
  ExpectProblem(NewClient()->Get("/api/authenticate"), 405);
}

TEST_F(LoginRouteTest, LoginTokenIsAcceptedAsBearer) {
  auto login = Login(R"({"username":"grower@example.com","password":"s3cret"})");
  ASSERT_TRUE(login);
  std::string token = Parse(login->body)["id_token"].GetString();
  ExpectProblem(GetCreds(token), 404, "credentialsnotfound");  // authorized
}

}  // namespace
}  // namespace leafemu
