// Connection limits (server/security/connection_limits.h): the flags, their
// ranges and environment twins, and the channel arguments and resource quota
// they put on a ServerBuilder. (The descriptor reserve itself is fd_limit's:
// tests/platform/fd_limit_test.cc.)
#include "server/security/connection_limits.h"

#include <grpc/grpc.h>
#include <grpcpp/server_builder.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace leafsvc {
namespace {

absl::StatusOr<ConnectionLimits> ParseLimits(std::vector<const char*> args) {
  FlagSet flags("CLTEST_");
  AddConnectionLimitFlags(flags);
  args.insert(args.begin(), "prog");
  absl::Status parsed = flags.Parse(static_cast<int>(args.size()), const_cast<char**>(args.data()));
  if (!parsed.ok()) return parsed;
  return ReadConnectionLimitFlags(flags);
}

// The channel arguments a builder would start its server with.
class InspectableBuilder : public grpc::ServerBuilder {
 public:
  std::map<std::string, grpc_arg> Args() {
    args_ = BuildChannelArgs();
    grpc_channel_args c = args_.c_channel_args();
    std::map<std::string, grpc_arg> out;
    for (size_t i = 0; i < c.num_args; ++i) out[c.args[i].key] = c.args[i];
    return out;
  }

 private:
  grpc::ChannelArguments args_;  // owns the strings the grpc_args point at
};

TEST(ConnectionLimitFlagsTest, DefaultsEqualTheStructsDefaults) {
  auto l = ParseLimits({});
  ASSERT_TRUE(l.ok()) << l.status();
  const ConnectionLimits d;
  EXPECT_EQ(l->handshake_timeout, d.handshake_timeout);
  EXPECT_EQ(l->max_connection_idle, d.max_connection_idle);
  EXPECT_EQ(l->grpc_memory_quota, d.grpc_memory_quota);
  EXPECT_EQ(l->fd_reserve, d.fd_reserve);
}

TEST(ConnectionLimitFlagsTest, EachFlagReachesItsOwnField) {
  auto l = ParseLimits({"--handshake_timeout=250ms", "--max_connection_idle=90s",
                        "--grpc_memory_quota=1048577", "--fd_reserve=0"});
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->handshake_timeout, absl::Milliseconds(250));
  EXPECT_EQ(l->max_connection_idle, absl::Seconds(90));
  EXPECT_EQ(l->grpc_memory_quota, 1048577u);
  EXPECT_EQ(l->fd_reserve, 0);
}

TEST(ConnectionLimitFlagsTest, EnvironmentTwinsAreRead) {
  setenv("CLTEST_FD_RESERVE", "65536", 1);
  setenv("CLTEST_GRPC_MEMORY_QUOTA", "68719476736", 1);  // 1 << 36: the top of the range
  auto l = ParseLimits({});
  unsetenv("CLTEST_FD_RESERVE");
  unsetenv("CLTEST_GRPC_MEMORY_QUOTA");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->fd_reserve, 65536);
  EXPECT_EQ(l->grpc_memory_quota, std::size_t{1} << 36);
}

TEST(ConnectionLimitFlagsTest, RangeEndsAreAcceptedAndOneStepOutsideIsRefused) {
  for (const char* good :
       {"--handshake_timeout=100ms", "--handshake_timeout=10m", "--max_connection_idle=0",
        "--grpc_memory_quota=1048576", "--fd_reserve=0", "--fd_reserve=65536"}) {
    EXPECT_TRUE(ParseLimits({good}).ok()) << good;
  }
  for (const char* bad :
       {"--handshake_timeout=99ms", "--handshake_timeout=601s", "--max_connection_idle=-1ms",
        "--max_connection_idle=8761h", "--grpc_memory_quota=1048575",
        "--grpc_memory_quota=68719476737", "--fd_reserve=-1", "--fd_reserve=65537",
        "--fd_reserve=many", "--handshake_timeout=soon"}) {
    auto l = ParseLimits({bad});
    ASSERT_FALSE(l.ok()) << bad;
    EXPECT_EQ(l.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    const std::string flag = std::string(bad).substr(2, std::string(bad).find('=') - 2);
    EXPECT_TRUE(absl::StrContains(l.status().message(), flag)) << l.status();
  }
}

TEST(ApplyConnectionLimitsTest, SetsHandshakeIdleAndQuotaArguments) {
  ConnectionLimits l;
  l.handshake_timeout = absl::Milliseconds(1500);
  l.max_connection_idle = absl::Minutes(2);
  InspectableBuilder builder;
  ApplyConnectionLimits(l, builder);
  auto args = builder.Args();
  ASSERT_TRUE(args.count(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS));
  EXPECT_EQ(args[GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS].type, GRPC_ARG_INTEGER);
  EXPECT_EQ(args[GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS].value.integer, 1500);
  ASSERT_TRUE(args.count(GRPC_ARG_MAX_CONNECTION_IDLE_MS));
  EXPECT_EQ(args[GRPC_ARG_MAX_CONNECTION_IDLE_MS].value.integer, 120000);
  ASSERT_TRUE(args.count(GRPC_ARG_RESOURCE_QUOTA));
  EXPECT_EQ(args[GRPC_ARG_RESOURCE_QUOTA].type, GRPC_ARG_POINTER);
}

TEST(ApplyConnectionLimitsTest, ZeroIdleSetsNoIdleArgument) {
  ConnectionLimits l;
  l.max_connection_idle = absl::ZeroDuration();
  InspectableBuilder builder;
  ApplyConnectionLimits(l, builder);
  auto args = builder.Args();
  EXPECT_EQ(args.count(GRPC_ARG_MAX_CONNECTION_IDLE_MS), 0u)
      << "0 means never, but gRPC would read 0 ms as idle at once";
  EXPECT_TRUE(args.count(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS));
}

TEST(ApplyConnectionLimitsTest, HugeDurationsAreClampedToIntNotWrapped) {
  ConnectionLimits l;
  l.handshake_timeout = absl::Hours(24 * 365);  // beyond the flag's range, but not the struct's
  l.max_connection_idle = absl::Hours(24 * 365);
  InspectableBuilder builder;
  ApplyConnectionLimits(l, builder);
  auto args = builder.Args();
  EXPECT_EQ(args[GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS].value.integer, INT_MAX);
  EXPECT_EQ(args[GRPC_ARG_MAX_CONNECTION_IDLE_MS].value.integer, INT_MAX);
}

}  // namespace
}  // namespace leafsvc
