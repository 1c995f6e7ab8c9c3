// The HTTP listeners' limits (server/httpd/http_limits.h): the four flags,
// their defaults (equal to HttpLimits'), ranges and environment twins.
#include "server/httpd/http_limits.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace leafsvc::httpd {
namespace {

absl::StatusOr<HttpLimits> ParseLimits(std::vector<const char*> args) {
  FlagSet flags("HLTEST_");
  AddHttpLimitFlags(flags);
  args.insert(args.begin(), "prog");
  absl::Status parsed = flags.Parse(static_cast<int>(args.size()), const_cast<char**>(args.data()));
  if (!parsed.ok()) return parsed;
  return ReadHttpLimitFlags(flags);
}

TEST(HttpLimitFlagsTest, DeclaresExactlyTheFourFlags) {
  FlagSet flags("HLTEST_");
  AddHttpLimitFlags(flags);
  EXPECT_EQ(flags.Names(),
            (std::vector<std::string>{"http_max_connections", "http_max_connections_per_ip",
                                      "http_request_timeout", "http_idle_timeout"}));
}

TEST(HttpLimitFlagsTest, DefaultsEqualTheStructsDefaults) {
  auto l = ParseLimits({});
  ASSERT_TRUE(l.ok()) << l.status();
  const HttpLimits d;
  EXPECT_EQ(l->max_connections, d.max_connections);
  EXPECT_EQ(l->max_connections_per_ip, d.max_connections_per_ip);
  EXPECT_EQ(l->request_timeout, d.request_timeout);
  EXPECT_EQ(l->idle_timeout, d.idle_timeout);
}

TEST(HttpLimitFlagsTest, EachFlagReachesItsOwnField) {
  auto l = ParseLimits({"--http_max_connections=11", "--http_max_connections_per_ip=3",
                        "--http_request_timeout=1500ms", "--http_idle_timeout=7s"});
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->max_connections, 11);
  EXPECT_EQ(l->max_connections_per_ip, 3);
  EXPECT_EQ(l->request_timeout, absl::Milliseconds(1500));
  EXPECT_EQ(l->idle_timeout, absl::Seconds(7));
}

TEST(HttpLimitFlagsTest, EnvironmentTwinsAreReadAndTheCommandLineWins) {
  setenv("HLTEST_HTTP_MAX_CONNECTIONS_PER_IP", "9", 1);
  setenv("HLTEST_HTTP_IDLE_TIMEOUT", "2s", 1);
  auto l = ParseLimits({"--http_idle_timeout=3s"});
  unsetenv("HLTEST_HTTP_MAX_CONNECTIONS_PER_IP");
  unsetenv("HLTEST_HTTP_IDLE_TIMEOUT");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->max_connections_per_ip, 9);
  EXPECT_EQ(l->idle_timeout, absl::Seconds(3));
}

TEST(HttpLimitFlagsTest, RangeEndsAreAcceptedAndOneStepOutsideIsRefused) {
  for (const char* good : {"--http_max_connections=1", "--http_max_connections=65536",
                           "--http_max_connections_per_ip=1", "--http_max_connections_per_ip=65536",
                           "--http_request_timeout=100ms", "--http_request_timeout=10m",
                           "--http_idle_timeout=1s", "--http_idle_timeout=1h"}) {
    EXPECT_TRUE(ParseLimits({good}).ok()) << good;
  }
  for (const char* bad :
       {"--http_max_connections=0", "--http_max_connections=65537",
        "--http_max_connections_per_ip=0", "--http_max_connections_per_ip=-5",
        "--http_max_connections_per_ip=65537", "--http_request_timeout=99ms",
        "--http_request_timeout=0", "--http_request_timeout=601s", "--http_idle_timeout=999ms",
        "--http_idle_timeout=3601s", "--http_max_connections=lots", "--http_idle_timeout=5"}) {
    auto l = ParseLimits({bad});
    ASSERT_FALSE(l.ok()) << bad;
    EXPECT_EQ(l.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    const std::string flag = std::string(bad).substr(2, std::string(bad).find('=') - 2);
    EXPECT_TRUE(absl::StrContains(l.status().message(), flag)) << l.status();
  }
}

}  // namespace
}  // namespace leafsvc::httpd
