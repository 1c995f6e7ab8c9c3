// Random tokens, hashes, PKCE S256 (RFC 7636 Appendix B) and comparison.
#include "server/connect/oauth_state.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace leafsvc::connect {
namespace {

TEST(OauthStateTest, TokensHaveTheirSizeAndAlphabet) {
  absl::StatusOr<std::string> id = NewLinkId();
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->size(), 22u);  // 128 bits
  EXPECT_TRUE(IsWellFormedToken(*id, kLinkIdBytes));
  absl::StatusOr<std::string> state = NewState();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->size(), 43u);  // 256 bits
  EXPECT_TRUE(IsWellFormedToken(*state, kStateBytes));
  EXPECT_EQ(
      state->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos);
}

TEST(OauthStateTest, TokensDoNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    absl::StatusOr<std::string> t = NewState();
    ASSERT_TRUE(t.ok());
    EXPECT_TRUE(seen.insert(*t).second);
  }
}

TEST(OauthStateTest, WellFormedRefusesEverythingElse) {
  const std::string ok(43, 'a');
  EXPECT_TRUE(IsWellFormedToken(ok, kStateBytes));
  EXPECT_FALSE(IsWellFormedToken(ok + "a", kStateBytes));
  EXPECT_FALSE(IsWellFormedToken(ok.substr(1), kStateBytes));
  EXPECT_FALSE(IsWellFormedToken(std::string(42, 'a') + "=", kStateBytes));
  EXPECT_FALSE(IsWellFormedToken(std::string(42, 'a') + "+", kStateBytes));
  EXPECT_FALSE(IsWellFormedToken(std::string(42, 'a') + std::string(1, '\0'), kStateBytes));
  EXPECT_FALSE(IsWellFormedToken("", kStateBytes));
  EXPECT_FALSE(IsWellFormedToken(std::string(1 << 20, 'a'), kStateBytes));
}

TEST(OauthStateTest, PkceS256MatchesRfc7636AppendixB) {
  EXPECT_EQ(PkceChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  absl::StatusOr<std::string> v = NewPkceVerifier();
  ASSERT_TRUE(v.ok());
  EXPECT_GE(v->size(), 43u);
  EXPECT_LE(v->size(), 128u);
}

TEST(OauthStateTest, HashIsSha256Hex) {
  EXPECT_EQ(HashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_NE(HashToken("abd"), HashToken("abc"));
}

TEST(OauthStateTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
}

}  // namespace
}  // namespace leafsvc::connect
