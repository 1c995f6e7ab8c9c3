// ServerConfig's own defaults (what code and tests that build one get) are
// the flag table's (what production gets): the two used to disagree on
// max_connection_age (0 against 30m).
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/config/config.h"
#include "tests/config/config_fields.h"

namespace leafsvc::testing {
namespace {

TEST(ConfigDefaultsTest, TheStructsDefaultsAreTheFlagTables) {
  const char* argv[] = {"server", "--leaf_token=abc"};
  absl::StatusOr<ParsedConfig> parsed = ParseServerConfig(2, const_cast<char**>(argv));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ServerConfig plain;
  plain.leaf_token = Secret("abc");  // required: the one value without a default
  EXPECT_THAT(DifferingFields(plain, parsed->config), ::testing::IsEmpty());
  EXPECT_EQ(plain.max_connection_age, absl::Minutes(30));
}

TEST(ConfigDefaultsTest, TheComparisonSeesEveryKindOfField) {
  // A comparison that missed fields would pass the test above vacuously.
  ServerConfig a;
  ServerConfig b;
  b.max_connection_age = a.max_connection_age + absl::Seconds(1);
  b.alerts_secret = Secret("x");
  b.connection_limits.fd_reserve = 0;
  b.http_limits.idle_timeout = absl::Seconds(1);
  b.security.protect_health_and_reflection = true;
  EXPECT_THAT(DifferingFields(a, b),
              ::testing::ElementsAre("max_connection_age", "security.protect_health_and_reflection",
                                     "alerts_secret", "connection_limits.fd_reserve",
                                     "http_limits.idle_timeout"));
}

}  // namespace
}  // namespace leafsvc::testing
