#include "server/watch/resume_token.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <iostream>
#include <random>
#include <string>

#include "absl/strings/escaping.h"

namespace leafsvc::watch {
namespace {

TEST(ResumeTokenTest, RoundTrips) {
  for (const ResumePoint& point :
       {ResumePoint{"p0123456789abcdef", {0, 1}}, ResumePoint{"fleet:prod", {1733560000123, 7}},
        ResumePoint{"x", {UINT64_MAX, UINT64_MAX}}, ResumePoint{"p1", {0, 3}, /*partial=*/true}}) {
    const std::string token = EncodeResumeToken(point);
    // URL-safe: a caller may put it in a URL or a header as it is.
    EXPECT_EQ(
        token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos)
        << token;
    std::optional<ResumePoint> back = DecodeResumeToken(token);
    ASSERT_TRUE(back.has_value()) << token;
    EXPECT_EQ(back->log_id, point.log_id);
    EXPECT_EQ(back->position, point.position);
    EXPECT_EQ(back->partial, point.partial);
  }
}

TEST(ResumeTokenTest, RefusesWhatItDidNotWrite) {
  auto encoded = [](const std::string& text) { return absl::WebSafeBase64Escape(text); };
  for (const std::string& token : {
           std::string(),
           std::string("not base64 at all!"),
           std::string("%%%%"),
           encoded(""),
           encoded("v1"),
           encoded("v1|"),
           encoded("v1|log"),
           encoded("v1|log|"),
           encoded("v1||0-1"),     // no log id
           encoded("v2|log|0-1"),  // another version
           encoded("V1|log|0-1"),
           encoded("v1|log|1"),  // not a position
           encoded("v1|log|-1"),
           encoded("v1|log|1-"),
           encoded("v1|log|a-1"),
           encoded("v1|log|+1-1"),
           encoded("v1|log|0-1|x"),  // trailing part
           encoded("v1|l og|0-1"),   // not a log id
           encoded(std::string("v1|l\0g|0-1", 10)),
           encoded("v1|log|99999999999999999999-1"),  // overflow
       }) {
    EXPECT_FALSE(DecodeResumeToken(token).has_value()) << "'" << token << "'";
  }
}

TEST(ResumeTokenTest, RefusesHugeTokensBeforeDecoding) {
  const std::string long_log(600, 'a');
  const std::string token = EncodeResumeToken({long_log, {0, 1}});
  ASSERT_GT(token.size(), kMaxResumeTokenSize);
  EXPECT_FALSE(DecodeResumeToken(token).has_value());
  EXPECT_FALSE(DecodeResumeToken(std::string(10 * 1024 * 1024, 'A')).has_value());
  // Just under the bound still decodes.
  const std::string fits = EncodeResumeToken({std::string(350, 'a'), {0, 1}});
  ASSERT_LE(fits.size(), kMaxResumeTokenSize);
  EXPECT_TRUE(DecodeResumeToken(fits).has_value());
}

TEST(ResumeTokenTest, RandomBytesNeverCrashAndRarelyDecode) {
  const uint32_t seed = std::random_device()();
  std::cout << "seed " << seed << "\n";
  std::mt19937 random(seed);
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=";
  const std::string valid = EncodeResumeToken({"p0123456789abcdef", {0, 42}});
  for (int i = 0; i < 20000; ++i) {
    std::string token;
    switch (i % 3) {
      case 0: {  // raw bytes
        token.resize(random() % 700);
        for (char& c : token) c = static_cast<char>(random() % 256);
        break;
      }
      case 1: {  // base64url-looking
        token.resize(random() % 700);
        for (char& c : token) c = alphabet[random() % alphabet.size()];
        break;
      }
      case 2: {  // a valid token with one character changed
        token = valid;
        token[random() % token.size()] = alphabet[random() % alphabet.size()];
        break;
      }
    }
    std::optional<ResumePoint> point = DecodeResumeToken(token);
    if (point) {
      // Whatever decodes is a well-formed point that encodes back.
      EXPECT_FALSE(point->log_id.empty()) << "seed " << seed;
      std::optional<ResumePoint> again = DecodeResumeToken(EncodeResumeToken(*point));
      ASSERT_TRUE(again.has_value()) << "seed " << seed;
      EXPECT_EQ(again->position, point->position) << "seed " << seed;
    }
  }
}

}  // namespace
}  // namespace leafsvc::watch
