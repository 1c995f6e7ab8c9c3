// The heartbeat keeps the replica's alive key in Redis while it runs, and
// stops beating (the key lapses) once stopped; stopping twice, or before
// the scheduler goes, is safe.
#include "server/fleet/replica_heartbeat.h"

#include <memory>

#include "gtest/gtest.h"
#include "tests/fleet/redis_harness.h"
#include "tests/support/redis_server.h"

namespace leafsvc::fleet {
namespace {

using ::leafsvc::fleet::testing::Call;
using ::leafsvc::fleet::testing::OptionsFor;
using ::leafsvc::fleet::testing::WaitUntil;
using ::leafsvc::testing::RedisServer;

TEST(ReplicaHeartbeatTest, BeatsWhileRunningAndLapsesOnceStopped) {
  if (!RedisServer::Available()) GTEST_SKIP() << "no redis-server";
  RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  absl::StatusOr<std::unique_ptr<RedisClient>> client = RedisClient::Create(OptionsFor(server));
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(WaitUntil([&] { return (*client)->up(); }));
  PollLease lease(client->get(), "leaf", "replica-a");
  Scheduler scheduler;
  const std::string key = "agleader:watch:{leaf}:alive:replica-a";
  auto alive = [&] {
    absl::StatusOr<RedisReply> r = Call(**client, {"EXISTS", key});
    return r.ok() && r->integer == 1;
  };
  ReplicaHeartbeat beat(&scheduler, &lease, absl::Milliseconds(100), absl::Milliseconds(300));
  beat.Start();
  ASSERT_TRUE(WaitUntil(alive));
  // Still alive well past one TTL: it keeps beating.
  absl::SleepFor(absl::Milliseconds(700));
  EXPECT_TRUE(alive());
  beat.Stop();
  beat.Stop();
  EXPECT_TRUE(WaitUntil([&] { return !alive(); })) << "still beating after Stop";
}

}  // namespace
}  // namespace leafsvc::fleet
