// Floods of idle TCP connections (never sending the HTTP/2 preface) against
// the server process: calls still succeed and reach the emulator, flood
// connections are closed after --handshake_timeout, and at the descriptor
// limit Leaf connections still get descriptors. The figures are printed
// (docs/security.md quotes them).
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"
#include "tests/process/flood.h"
#include "tests/process/stack.h"
#include "third_party/grpc_proto/grpc/health/v1/health.grpc.pb.h"

namespace leafsvc::testing {
namespace {

// Upstream calls that overlap, so libcurl opens new connections for them.
void SlowLeaf(Stack& stack) {
  ASSERT_EQ(stack.Control("POST", "/_emulator/faults",
                          "{\"kind\":\"latency_only\",\"latency_ms\":300,\"times\":-1,"
                          "\"path_contains\":\"ag-leader-credentials\"}"),
            200);
}

TEST(ConnectionFloodTest, TwoThousandIdleConnectionsAreHarmlessAndReaped) {
  constexpr int kFlood = 2000;
  auto stack = Stack::Start({"--handshake_timeout=2s"});
  ASSERT_NE(stack, nullptr);
  SlowLeaf(*stack);
  const pid_t pid = stack->server().pid();
  const int fds_before = OpenFds(pid);
  const int64_t rss_before = RssKb(pid);

  const absl::Time flood_start = absl::Now();
  std::vector<int> flood = Flood(stack->target(), kFlood);
  const absl::Duration flood_took = absl::Now() - flood_start;
  ASSERT_EQ(static_cast<int>(flood.size()), kFlood);
  absl::SleepFor(absl::Milliseconds(500));
  const int fds_during = OpenFds(pid);
  const int64_t rss_during = RssKb(pid);

  // A new client connects and its calls reach Leaf while the flood is open.
  const int upstream_before = stack->UpstreamRequests("ag-leader-credentials");
  const absl::Time calls_start = absl::Now();
  auto channel = grpc::CreateChannel(stack->target(), grpc::InsecureChannelCredentials());
  EXPECT_EQ(CallsThatReachedLeaf(channel, 8), 8);
  const absl::Duration calls_took = absl::Now() - calls_start;
  EXPECT_EQ(stack->UpstreamRequests("ag-leader-credentials") - upstream_before, 8);

  // Every flood connection is closed by the server after the handshake timeout.
  const int closed = ClosedByServer(flood, absl::Seconds(8));
  const absl::Duration reaped_after = absl::Now() - flood_start;
  EXPECT_EQ(closed, kFlood);
  absl::SleepFor(absl::Milliseconds(500));
  const int fds_after = OpenFds(pid);  // + the client's and libcurl's connections
  EXPECT_LT(fds_after, fds_before + 40);
  CloseAll(flood);
  EXPECT_TRUE(HealthOk(channel));

  std::printf(
      "FIGURES flood=%d opened_in_ms=%lld server_fds before=%d during=%d after=%d "
      "rss_kb before=%lld during=%lld (+%lld) 8_calls_ms=%lld all_closed_by_server_ms=%lld\n",
      kFlood, static_cast<long long>(absl::ToInt64Milliseconds(flood_took)), fds_before, fds_during,
      fds_after, static_cast<long long>(rss_before), static_cast<long long>(rss_during),
      static_cast<long long>(rss_during - rss_before),
      static_cast<long long>(absl::ToInt64Milliseconds(calls_took)),
      static_cast<long long>(absl::ToInt64Milliseconds(reaped_after)));
}

TEST(ConnectionFloodTest, AtTheDescriptorLimitLeafStillGetsDescriptors) {
  constexpr int kFlood = 400;
  // Soft limit 64, hard 256: the server raises the soft limit to 256 itself.
  auto stack = Stack::Start({"--handshake_timeout=3s", "--fd_reserve=64"},
                            {"/usr/bin/prlimit", "--nofile=64:256", "--"}, {});
  ASSERT_NE(stack, nullptr);
  SlowLeaf(*stack);
  const pid_t pid = stack->server().pid();
  std::ifstream limits(absl::StrCat("/proc/", pid, "/limits"));
  std::string text((std::istreambuf_iterator<char>(limits)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("Max open files            256                  256"), std::string::npos)
      << text;

  // A client connected before the flood keeps working during it.
  auto channel = grpc::CreateChannel(stack->target(), grpc::InsecureChannelCredentials());
  ASSERT_TRUE(HealthOk(channel));
  std::vector<int> flood = Flood(stack->target(), kFlood);
  ASSERT_EQ(static_cast<int>(flood.size()), kFlood);
  // Those beyond the callers' share are refused (closed) at once.
  const int refused = ClosedByServer(flood, absl::Seconds(1));
  const int fds_during = OpenFds(pid);
  EXPECT_GT(refused, kFlood - 256);
  EXPECT_LE(fds_during, 256 - 64 + 1);

  const int upstream_before = stack->UpstreamRequests("ag-leader-credentials");
  EXPECT_EQ(CallsThatReachedLeaf(channel, 16), 16);
  EXPECT_EQ(stack->UpstreamRequests("ag-leader-credentials") - upstream_before, 16);
  const int fds_with_leaf = OpenFds(pid);

  // The rest are reaped after the handshake timeout, and the listener still
  // accepts: a new client connects.
  const int closed = ClosedByServer(flood, absl::Seconds(8));
  EXPECT_EQ(closed, kFlood);
  CloseAll(flood);
  auto fresh = grpc::CreateChannel(stack->target(), grpc::InsecureChannelCredentials());
  EXPECT_TRUE(HealthOk(fresh));
  EXPECT_NE(stack->ServerLog().find("reserved for Leaf"), std::string::npos);

  std::printf(
      "FIGURES limit=256 reserve=64 flood=%d refused_at_once=%d server_fds_during=%d "
      "with_16_leaf_calls=%d\n",
      kFlood, refused, fds_during, fds_with_leaf);
}

}  // namespace
}  // namespace leafsvc::testing
