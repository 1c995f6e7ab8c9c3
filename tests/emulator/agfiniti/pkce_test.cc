#include "emulator/agfiniti/pkce.h"

#include <string>

#include "gtest/gtest.h"

namespace leafemu {
namespace agfiniti {
namespace {

// Computed with Python's hashlib and base64, independently of this code.
constexpr char kVerifier[] = "abcdefghijklmnopqrstuvwxyz0123456789-._~ABCDEFG";
constexpr char kChallenge[] = "TDp3C-wPo3aKDK1Bg-ukP78nZ9YiqUD2ToRD96HoaHU";

TEST(PkceTest, S256MatchesAnIndependentComputation) {
  EXPECT_EQ(S256Challenge(kVerifier), kChallenge);
  EXPECT_TRUE(VerifyS256(kVerifier, kChallenge));
}

TEST(PkceTest, RefusesWrongOrMalformedVerifiers) {
  std::string wrong = kVerifier;
  wrong.back() = 'H';
  EXPECT_FALSE(VerifyS256(wrong, kChallenge));
  EXPECT_FALSE(VerifyS256("short", S256Challenge("short")));
  EXPECT_FALSE(VerifyS256(std::string(129, 'a'), S256Challenge(std::string(129, 'a'))));
  EXPECT_FALSE(VerifyS256(kVerifier, ""));
}

TEST(PkceTest, ShapeIs43To128Unreserved) {
  EXPECT_TRUE(IsPkceString(std::string(43, 'a')));
  EXPECT_TRUE(IsPkceString(std::string(128, '~')));
  EXPECT_FALSE(IsPkceString(std::string(42, 'a')));
  EXPECT_FALSE(IsPkceString(std::string(42, 'a') + "+"));
}

}  // namespace
}  // namespace agfiniti
}  // namespace leafemu
