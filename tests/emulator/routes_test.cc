// Tests of what every Leaf route shares (routes.cc, router.cc): the Bearer check,
// the {leafUserId} checks, 404 and 405, through real HTTP.
#include <httplib.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
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

using LeafRoutesTest = EmulatorTest;

TEST_F(LeafRoutesTest, MissingBearerIs401) {
  auto res = NewClient()->Get(kCredsPath);
  ExpectProblem(res, 401);
  rapidjson::Document d = Parse(res->body);
  EXPECT_STREQ(d["title"].GetString(), "Unauthorized");
  EXPECT_STREQ(d["message"].GetString(), "error.http.401");
  EXPECT_TRUE(absl::StrContains(d["detail"].GetString(), "missing")) << d["detail"].GetString();
}

TEST_F(LeafRoutesTest, GarbageBearerIs401Malformed) {
  for (const char* token : {"garbage", "a.b.c", "x.y"}) {
    auto res = GetCreds(token);
    ExpectProblem(res, 401);
    EXPECT_TRUE(absl::StrContains(Parse(res->body)["detail"].GetString(), "Malformed"))
        << res->body;
  }
  auto basic =
      NewClient()->Get(kCredsPath, httplib::Headers{{"Authorization", "Basic Zm9vOmJhcg=="}});
  ExpectProblem(basic, 401);
}

TEST_F(LeafRoutesTest, TokenSignedWithAnotherKeyIs401) {
  std::string token = emu_->IssueToken(kUser, absl::Hours(1));
  // Flip the signature's first character.
  size_t sig = token.rfind('.') + 1;
  token[sig] = token[sig] == 'A' ? 'B' : 'A';
  ExpectProblem(GetCreds(token), 401);
}

TEST_F(LeafRoutesTest, ExpiredTokenIs401Expired) {
  std::string already_expired = emu_->IssueToken(kUser, absl::Seconds(-1));
  auto res = GetCreds(already_expired);
  ExpectProblem(res, 401);
  EXPECT_TRUE(absl::StrContains(Parse(res->body)["detail"].GetString(), "Expired")) << res->body;

  std::string short_lived = emu_->IssueToken(kUser, absl::Seconds(1));
  ExpectProblem(GetCreds(short_lived), 404);  // still valid
  std::vector<std::string> parts = absl::StrSplit(short_lived, '.');
  int64_t exp = Parse(Base64UrlDecode(parts[1]))["exp"].GetInt64();
  absl::SleepFor(absl::FromUnixSeconds(exp) - absl::Now() + absl::Milliseconds(20));
  ExpectProblem(GetCreds(short_lived), 401);
}

TEST_F(LeafRoutesTest, RevokeAllTokensInvalidatesIssuedButNotStaticTokens) {
  std::string token = emu_->IssueToken(kUser, absl::Hours(1));
  ExpectProblem(GetCreds(token), 404);
  emu_->RevokeAllTokens();
  ExpectProblem(GetCreds(token), 401);
  ExpectProblem(GetCreds(kStaticToken), 404);
  ExpectProblem(GetCreds(emu_->IssueToken(kUser, absl::Hours(1))), 404);
}

TEST_F(LeafRoutesTest, UnknownUserIs404WhenKnownUsersSet) {
  EmulatorOptions o = DefaultOptions();
  o.known_users = std::vector<std::string>{kLeafUser};
  StartWith(o);
  auto res = NewClient()->Get(CredsPathFor("11111111-2222-3333-4444-555555555555"), Auth());
  ExpectProblem(res, 404, "usernotfound");
  EXPECT_STREQ(Parse(res->body)["message"].GetString(), "User not found");
  ExpectProblem(GetCreds(), 404, "credentialsnotfound");  // known user
}

TEST_F(LeafRoutesTest, NonUuidUserIdIs400) {
  ExpectProblem(NewClient()->Get(CredsPathFor("not-a-uuid"), Auth()), 400);
  ExpectProblem(NewClient()->Get(CredsPathFor("5a0f2b7e-1c3d-4e5f-8a9b-0c1d2e3f4a5"), Auth()), 400);
  // Version nibble 0 is fine: only the hex pattern counts.
  ExpectProblem(NewClient()->Get(CredsPathFor("ABCDEF01-2345-0789-0abc-def012345678"), Auth()), 404,
                "credentialsnotfound");
}

TEST_F(LeafRoutesTest, UnknownRouteIs404AndWrongMethodIs405) {
  ExpectProblem(NewClient()->Get("/services/usermanagement/api/users/" + std::string(kLeafUser) +
                                     "/john-deere-credentials",
                                 Auth()),
                404);
  ExpectProblem(NewClient()->Get("/nowhere"), 404);
  auto put = NewClient()->Put(kCredsPath, Auth(), kCreateBody, "application/json");
  ExpectProblem(put, 405);
  ExpectProblem(NewClient()->Delete(kEventsPath, Auth()), 405);
}

}  // namespace
}  // namespace leafemu
