// Unit tests of Leaf's login tokens (jwt.h).
#include "emulator/jwt.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace leafemu {
namespace {

constexpr char kKey[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const absl::Time kNow = absl::FromUnixSeconds(1700000000);

std::string Detail(const absl::Status& s) { return std::string(s.message()); }

TEST(JwtTest, Base64UrlRoundTripsWithoutPadding) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\xfd"}) {
    std::string encoded = Base64UrlEncode(s);
    EXPECT_FALSE(absl::StrContains(encoded, "=")) << encoded;
    EXPECT_EQ(Base64UrlDecode(encoded), s);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(Base64UrlDecode("a+b/"));   // standard alphabet
  EXPECT_FALSE(Base64UrlDecode("abcde"));  // impossible length
}

TEST(JwtTest, MintedTokenIsHs512WithSubAuthAndExp) {
  std::string token = MintJwt(kKey, "grower@example.com", kNow, absl::Hours(24));
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(*Base64UrlDecode(parts[0]), R"({"alg":"HS512","typ":"JWT"})");
  rapidjson::Document payload;
  payload.Parse(Base64UrlDecode(parts[1])->c_str());
  EXPECT_STREQ(payload["sub"].GetString(), "grower@example.com");
  EXPECT_STREQ(payload["auth"].GetString(), "ROLE_USER");
  EXPECT_EQ(payload["exp"].GetInt64(), 1700000000 + 24 * 3600);
  EXPECT_EQ(Base64UrlDecode(parts[2])->size(), 64u);
  EXPECT_TRUE(VerifyJwt(kKey, token, kNow).ok());
}

TEST(JwtTest, ExpRoundsUpAndExpiryIsChecked) {
  std::string token = MintJwt(kKey, "u", kNow, absl::Milliseconds(1500));
  EXPECT_TRUE(VerifyJwt(kKey, token, kNow + absl::Milliseconds(1999)).ok());
  absl::Status expired = VerifyJwt(kKey, token, kNow + absl::Seconds(2));
  EXPECT_TRUE(absl::IsUnauthenticated(expired));
  EXPECT_TRUE(absl::StartsWith(Detail(expired), "Expired")) << expired;
  EXPECT_FALSE(VerifyJwt(kKey, MintJwt(kKey, "u", kNow, absl::ZeroDuration()), kNow).ok());
}

TEST(JwtTest, WrongKeyOrTamperingIsABadSignature) {
  std::string token = MintJwt(kKey, "u", kNow, absl::Hours(1));
  EXPECT_TRUE(absl::StrContains(Detail(VerifyJwt("another key", token, kNow)), "bad signature"));
  std::string tampered = token;
  tampered[tampered.find('.') + 2] ^= 1;
  EXPECT_FALSE(VerifyJwt(kKey, tampered, kNow).ok());
}

TEST(JwtTest, MalformedTokensSayWhy) {
  EXPECT_TRUE(absl::StrContains(Detail(VerifyJwt(kKey, "garbage", kNow)), "not a JWT"));
  EXPECT_TRUE(absl::StrContains(Detail(VerifyJwt(kKey, "a..c", kNow)), "not a JWT"));
  EXPECT_TRUE(absl::StrContains(Detail(VerifyJwt(kKey, "a+.b.c", kNow)), "bad base64url"));
  EXPECT_TRUE(absl::StrContains(Detail(VerifyJwt(kKey, "YQ.Yg.Yw", kNow)), "bad JSON"));
  std::string none = Base64UrlEncode(R"({"alg":"none"})") + "." + Base64UrlEncode("{}") + ".YQ";
  EXPECT_TRUE(absl::StrContains(Detail(VerifyJwt(kKey, none, kNow)), "unsupported algorithm"));
}

}  // namespace
}  // namespace leafemu
