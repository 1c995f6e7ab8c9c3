// Unit tests of accounts, login and the Bearer check (auth.h).
#include "emulator/auth.h"

#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace leafemu {
namespace {

EmulatorOptions Options() {
  EmulatorOptions o;
  o.accounts["grower@example.com"] = "s3cret";
  o.static_tokens = {"static-token"};
  return o;
}

std::string Detail(const absl::Status& s) { return std::string(s.message()); }

TEST(AuthTest, LoginChecksThePasswordAndCountsSuccesses) {
  Auth auth(Options());
  EXPECT_FALSE(auth.Login("grower@example.com", "wrong", false));
  EXPECT_FALSE(auth.Login("nobody@example.com", "s3cret", false));
  EXPECT_EQ(auth.LoginCount(), 0);
  std::optional<std::string> token = auth.Login("grower@example.com", "s3cret", true);
  ASSERT_TRUE(token);
  EXPECT_TRUE(auth.CheckAuthorization("Bearer " + *token).ok());
  EXPECT_EQ(auth.LoginCount(), 1);
  auth.ResetLoginCount();
  EXPECT_EQ(auth.LoginCount(), 0);
}

TEST(AuthTest, AuthorizationHeaderForms) {
  Auth auth(Options());
  EXPECT_TRUE(auth.CheckAuthorization("Bearer static-token").ok());
  EXPECT_TRUE(auth.CheckAuthorization("  bearer   static-token  ").ok());
  EXPECT_TRUE(absl::StrContains(Detail(auth.CheckAuthorization(std::nullopt)), "missing"));
  EXPECT_TRUE(absl::StrContains(Detail(auth.CheckAuthorization("Bearer    ")),
                                "Malformed Authorization header"));
  EXPECT_TRUE(absl::StrContains(Detail(auth.CheckAuthorization("Bearer  \t x")), "not a JWT"));
  EXPECT_TRUE(absl::StrContains(Detail(auth.CheckAuthorization("Basic Zm9vOmJhcg==")),
                                "Malformed Authorization header"));
  EXPECT_TRUE(absl::IsUnauthenticated(auth.CheckAuthorization("Bearer garbage")));
}

TEST(AuthTest, RevokeInvalidatesIssuedTokensButNotStaticOnes) {
  Auth auth(Options());
  std::string token = auth.IssueToken("anyone", absl::Hours(1));
  EXPECT_TRUE(auth.CheckAuthorization("Bearer " + token).ok());
  auth.RevokeAllTokens();
  EXPECT_TRUE(
      absl::StrContains(Detail(auth.CheckAuthorization("Bearer " + token)), "bad signature"));
  EXPECT_TRUE(auth.CheckAuthorization("Bearer static-token").ok());
  EXPECT_TRUE(auth.CheckAuthorization("Bearer " + auth.IssueToken("a", absl::Hours(1))).ok());
}

TEST(AuthTest, ExpiredIssuedTokenIsRefused) {
  Auth auth(Options());
  absl::Status s = auth.CheckAuthorization("Bearer " + auth.IssueToken("a", absl::Seconds(-1)));
  EXPECT_TRUE(absl::StrContains(Detail(s), "Expired")) << s;
}

}  // namespace
}  // namespace leafemu
