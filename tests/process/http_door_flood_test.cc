// The HTTP door (alerts and metrics listeners) against floods and slow
// peers, on the shipped binary: floods of idle connections on every port at
// once never bring the process to EMFILE (gRPC 1.51 never accepts again after
// it), and afterwards every port accepts new callers; slow senders on the
// alert port do not delay SIGTERM. Figures are printed (docs/security.md).
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/alerts/signature.h"
#include "tests/process/flood.h"
#include "tests/process/stack.h"
#include "tests/support/free_port.h"

namespace leafsvc::testing {
namespace {

constexpr char kAlertsSecret[] = "alerts-secret-of-at-least-32-bytes-0123456789";

struct Ports {
  int alerts = FreePort();
  int metrics = FreePort();
  std::string Alerts() const { return absl::StrCat("127.0.0.1:", alerts); }
  std::string Metrics() const { return absl::StrCat("127.0.0.1:", metrics); }
};

int PostUnsignedAlert(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(5);
  httplib::Result r = client.Post("/leaf/alerts", "{}", "application/json");
  return r ? r->status : 0;
}

int GetMetrics(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(5);
  httplib::Result r = client.Get("/metrics");
  return r ? r->status : 0;
}

TEST(HttpDoorFloodTest, FloodsOnEveryPortAtOnceNeverReachEmfile) {
  constexpr int kPerPort = 400;
  const Ports ports;
  // 256 descriptors, 64 of them reserved: callers of every listener share
  // the 192 below. The HTTP limits are set above that so that the reserve,
  // not the listener's own cap, is what holds.
  auto stack = Stack::Start(
      {"--handshake_timeout=3s", "--fd_reserve=64", "--alerts_listen=" + ports.Alerts(),
       "--metrics_listen=" + ports.Metrics(), "--http_max_connections=2000",
       "--http_max_connections_per_ip=2000", "--http_request_timeout=3s"},
      {"/usr/bin/prlimit", "--nofile=256:256", "--"}, {{"AGLEADER_ALERTS_SECRET", kAlertsSecret}});
  ASSERT_NE(stack, nullptr);
  const pid_t pid = stack->server().pid();
  auto channel = grpc::CreateChannel(stack->target(), grpc::InsecureChannelCredentials());
  ASSERT_TRUE(HealthOk(channel));

  std::vector<int> floods[3];
  const std::string targets[3] = {stack->target(), ports.Alerts(), ports.Metrics()};
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; ++i) {
      threads.emplace_back([&, i] { floods[i] = Flood(targets[i], kPerPort); });
    }
    for (auto& t : threads) t.join();
  }
  absl::SleepFor(absl::Milliseconds(500));
  const int fds_during = OpenFds(pid);
  EXPECT_LE(fds_during, 256 - 64 + 2);
  // Leaf still gets descriptors while every port is flooded.
  EXPECT_EQ(CallsThatReachedLeaf(channel, 16), 16);

  // The floods end (the listeners cut them off, or they are closed here).
  for (auto& f : floods) {
    ClosedByServer(f, absl::Seconds(6));
    CloseAll(f);
  }
  absl::SleepFor(absl::Milliseconds(500));
  // Every port accepts new callers again.
  auto fresh = grpc::CreateChannel(stack->target(), grpc::InsecureChannelCredentials());
  EXPECT_TRUE(HealthOk(fresh));
  EXPECT_EQ(PostUnsignedAlert(ports.alerts), 401);
  EXPECT_EQ(GetMetrics(ports.metrics), 200);
  const std::string log = stack->ServerLog();
  EXPECT_EQ(log.find("Too many open files"), std::string::npos) << log.substr(0, 4000);
  EXPECT_NE(log.find("reserved for Leaf"), std::string::npos);
  std::printf("FIGURES limit=256 reserve=64 flood_per_port=%d ports=3 server_fds_during=%d\n",
              kPerPort, fds_during);
}

TEST(HttpDoorFloodTest, SlowSendersOnTheAlertPortDoNotDelaySigterm) {
  const Ports ports;
  auto stack = Stack::Start({"--alerts_listen=" + ports.Alerts(), "--http_request_timeout=60s",
                             "--http_idle_timeout=60s", "--shutdown_grace=10s"},
                            {}, {{"AGLEADER_ALERTS_SECRET", kAlertsSecret}});
  ASSERT_NE(stack, nullptr);
  // 16 peers each in the middle of a request they never finish.
  std::vector<int> slow = Flood(ports.Alerts(), 16);
  ASSERT_EQ(slow.size(), 16u);
  for (int fd : slow) {
    const std::string part =
        "POST /leaf/alerts HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{";
    ASSERT_EQ(send(fd, part.data(), part.size(), MSG_NOSIGNAL), static_cast<ssize_t>(part.size()));
  }
  absl::SleepFor(absl::Milliseconds(300));
  // A genuine (if unsigned) request is still answered meanwhile.
  EXPECT_EQ(PostUnsignedAlert(ports.alerts), 401);

  const absl::Time start = absl::Now();
  stack->server().Signal(SIGTERM);
  std::optional<int> code = stack->server().Wait(absl::Seconds(15));
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
  EXPECT_LT(took, absl::Seconds(3)) << "a slow sender held the shutdown";
  EXPECT_EQ(ClosedByServer(slow, absl::Seconds(1)), 16);
  CloseAll(slow);
  std::printf("FIGURES slow_senders=16 sigterm_to_exit_ms=%lld\n",
              static_cast<long long>(absl::ToInt64Milliseconds(took)));
}

}  // namespace
}  // namespace leafsvc::testing
