#include "server/secrets/secret.h"

#include <sstream>

#include "gtest/gtest.h"

namespace leafsvc {
namespace {

TEST(SecretTest, StreamingShowsRedacted) {
  Secret s("super-secret-refresh-token");
  std::ostringstream os;
  os << s;
  EXPECT_EQ(os.str(), "[redacted]");
}

TEST(SecretTest, RevealReturnsValue) { EXPECT_EQ(Secret("abc").Reveal(), "abc"); }

TEST(SecretTest, HintShowsLastFourOfLongSecrets) {
  EXPECT_EQ(Secret("0123456789abcdef").Hint(), "****cdef");
}

TEST(SecretTest, HintHidesShortSecretsEntirely) {
  EXPECT_EQ(Secret("short-tok").Hint(), "****");
  EXPECT_EQ(Secret("").Hint(), "");
}

TEST(SecretTest, Equality) {
  EXPECT_EQ(Secret("a"), Secret("a"));
  EXPECT_NE(Secret("a"), Secret("b"));
}

}  // namespace
}  // namespace leafsvc
