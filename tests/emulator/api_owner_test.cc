// Unit tests of whose request a request is (api_owner.h): logins and the
// tokens they issue count against one account, static tokens against one
// owner, and a request naming no one against the anonymous owner.
#include "emulator/api_owner.h"

#include <httplib.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "emulator/jwt.h"
#include "gtest/gtest.h"

namespace leafemu {
namespace {

const std::vector<std::string> kStatic = {"tok-1", "tok-2"};

httplib::Request Bearer(const std::string& token, const std::string& scheme = "Bearer ") {
  httplib::Request r;
  r.method = "GET";
  r.path = "/services/usermanagement/api/users";
  r.headers.emplace("Authorization", scheme + token);
  return r;
}

httplib::Request LoginAs(const std::string& body) {
  httplib::Request r;
  r.method = "POST";
  r.path = "/api/authenticate";
  r.body = body;
  return r;
}

std::string Jwt(const std::string& subject, absl::Duration lifetime = absl::Hours(1)) {
  return MintJwt("some-key", subject, absl::Now(), lifetime);
}

TEST(ApiOwnerTest, ALoginAndTheTokensItIssuesAreOneAccount) {
  const std::string login =
      ApiOwnerOf(LoginAs(R"({"username":"a@x.io","password":"pw"})"), kStatic);
  EXPECT_EQ(login, absl::StrCat(kAccountOwnerPrefix, "a@x.io"));
  EXPECT_EQ(ApiOwnerOf(Bearer(Jwt("a@x.io")), kStatic), login);
  // Read, not verified: a wrong password, an expired token or another key's
  // token still names the account, so every request sent is counted.
  EXPECT_EQ(ApiOwnerOf(LoginAs(R"({"username":"a@x.io","password":"wrong"})"), kStatic), login);
  EXPECT_EQ(ApiOwnerOf(Bearer(Jwt("a@x.io", -absl::Hours(1))), kStatic), login);
  EXPECT_EQ(ApiOwnerOf(Bearer(Jwt("a@x.io"), "bearer  "), kStatic), login);
}

TEST(ApiOwnerTest, AccountsAreApart) {
  EXPECT_NE(ApiOwnerOf(Bearer(Jwt("a@x.io")), kStatic), ApiOwnerOf(Bearer(Jwt("b@x.io")), kStatic));
  EXPECT_NE(ApiOwnerOf(LoginAs(R"({"username":"a@x.io"})"), kStatic),
            ApiOwnerOf(LoginAs(R"({"username":"b@x.io"})"), kStatic));
}

TEST(ApiOwnerTest, StaticTokensAreOneOwnerNoAccountCanImpersonate) {
  EXPECT_EQ(ApiOwnerOf(Bearer("tok-1"), kStatic), kStaticTokenOwner);
  EXPECT_EQ(ApiOwnerOf(Bearer("tok-2"), kStatic), kStaticTokenOwner);
  EXPECT_NE(ApiOwnerOf(Bearer(Jwt(std::string(kStaticTokenOwner))), kStatic), kStaticTokenOwner);
  EXPECT_NE(ApiOwnerOf(LoginAs(R"({"username":"anonymous"})"), kStatic), kAnonymousOwner);
}

TEST(ApiOwnerTest, ARequestThatNamesNoOneIsAnonymous) {
  httplib::Request none;
  none.path = "/services/usermanagement/api/users";
  EXPECT_EQ(ApiOwnerOf(none, kStatic), kAnonymousOwner);
  EXPECT_EQ(ApiOwnerOf(Bearer("tok-1", "Basic "), kStatic), kAnonymousOwner);
  EXPECT_EQ(ApiOwnerOf(Bearer("not-a-jwt"), kStatic), kAnonymousOwner);
  EXPECT_EQ(ApiOwnerOf(Bearer("a.!!!.c"), kStatic), kAnonymousOwner);
  EXPECT_EQ(ApiOwnerOf(Bearer(""), kStatic), kAnonymousOwner);
  EXPECT_EQ(ApiOwnerOf(LoginAs("not json"), kStatic), kAnonymousOwner);
  EXPECT_EQ(ApiOwnerOf(LoginAs(R"({"password":"pw"})"), kStatic), kAnonymousOwner);
}

}  // namespace
}  // namespace leafemu
