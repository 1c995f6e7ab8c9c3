#include "server/alerts/signature.h"

#include <gtest/gtest.h>

namespace leafsvc::alerts {
namespace {

// RFC 4231 test case 2, base64-encoded.
TEST(SignatureTest, MatchesTheRfc4231Vector) {
  EXPECT_EQ(SignBody("Jefe", "what do ya want for nothing?"),
            "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
}

TEST(SignatureTest, AcceptsOnlyTheExactSignature) {
  const std::string body = R"({"credentialId":"c1","status":"UNAUTHENTICATED"})";
  const std::string good = SignBody("s3cret", body);
  EXPECT_TRUE(SignatureMatches("s3cret", body, good));
  EXPECT_FALSE(SignatureMatches("other", body, good));
  EXPECT_FALSE(SignatureMatches("s3cret", body + " ", good));
  std::string flipped = good;
  flipped[10] = flipped[10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(SignatureMatches("s3cret", body, flipped));
  EXPECT_FALSE(SignatureMatches("s3cret", body, good.substr(0, 43)));
  EXPECT_FALSE(SignatureMatches("s3cret", body, ""));
}

}  // namespace
}  // namespace leafsvc::alerts
