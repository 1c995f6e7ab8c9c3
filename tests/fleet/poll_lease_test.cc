// The per-user poll lease on a real redis-server: one holder among
// replicas, release and TTL hand it over, fences only grow.
#include "server/fleet/poll_lease.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/fleet/redis_client.h"
#include "tests/fleet/redis_harness.h"
#include "tests/support/redis_server.h"

namespace leafsvc::fleet {
namespace {

using ::leafsvc::fleet::testing::Call;
using ::leafsvc::fleet::testing::OptionsFor;
using ::leafsvc::fleet::testing::WaitUntil;
using ::leafsvc::testing::RedisServer;

template <typename T>
absl::StatusOr<T> Wait(std::future<absl::StatusOr<T>>& f) {
  if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    return absl::InternalError("no callback within 30 s");
  }
  return f.get();
}

absl::StatusOr<std::uint64_t> AcquireNow(PollLease& lease, const std::string& user,
                                         absl::Duration ttl = absl::Seconds(60)) {
  auto p = std::make_shared<std::promise<absl::StatusOr<std::uint64_t>>>();
  auto f = p->get_future();
  lease.Acquire(user, ttl, [p](absl::StatusOr<std::uint64_t> r) { p->set_value(r); });
  return Wait(f);
}

absl::StatusOr<bool> ReleaseNow(PollLease& lease, const std::string& user) {
  auto p = std::make_shared<std::promise<absl::StatusOr<bool>>>();
  auto f = p->get_future();
  lease.Release(user, [p](absl::StatusOr<bool> r) { p->set_value(r); });
  return Wait(f);
}

// N replicas (each its own client and lease) on one Redis.
struct Replicas {
  explicit Replicas(int n) {
    EXPECT_TRUE(server.Start().ok());
    for (int i = 0; i < n; ++i) {
      absl::StatusOr<std::unique_ptr<RedisClient>> c = RedisClient::Create(OptionsFor(server));
      EXPECT_TRUE(c.ok()) << c.status();
      clients.push_back(*std::move(c));
      EXPECT_TRUE(WaitUntil([&] { return clients.back()->up(); }));
      leases.push_back(
          std::make_unique<PollLease>(clients.back().get(), "leaf", absl::StrCat("replica-", i)));
    }
  }
  PollLease& operator[](int i) { return *leases[i]; }

  RedisServer server;
  std::vector<std::unique_ptr<RedisClient>> clients;
  std::vector<std::unique_ptr<PollLease>> leases;
};

TEST(PollLeaseTest, ExactlyOneReplicaHoldsAndFencesGrow) {
  SKIP_WITHOUT_REDIS();
  Replicas r(2);
  absl::StatusOr<std::uint64_t> a = AcquireNow(r[0], "u1");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, 1u);
  EXPECT_EQ(*AcquireNow(r[1], "u1"), 0u);
  // The holder renews: a new grant, a larger fence.
  absl::StatusOr<std::uint64_t> renewed = AcquireNow(r[0], "u1");
  ASSERT_TRUE(renewed.ok());
  EXPECT_GT(*renewed, *a);
  EXPECT_EQ(*AcquireNow(r[1], "u1"), 0u);
  // Users are independent.
  EXPECT_EQ(*AcquireNow(r[1], "u2"), 1u);
  EXPECT_EQ(*AcquireNow(r[0], "u2"), 0u);

  absl::StatusOr<RedisReply> owner = Call(*r.clients[0], {"GET", "agleader:watch:{leaf}:lease:u1"});
  ASSERT_TRUE(owner.ok());
  EXPECT_EQ(owner->str, "replica-0");
  absl::StatusOr<RedisReply> ttl = Call(*r.clients[0], {"PTTL", "agleader:watch:{leaf}:lease:u1"});
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl->integer, 50000);
  EXPECT_LE(ttl->integer, 60000);
}

TEST(PollLeaseTest, ReleaseHandsOverOnlyFromTheHolder) {
  SKIP_WITHOUT_REDIS();
  Replicas r(2);
  const std::uint64_t first = *AcquireNow(r[0], "u1");
  // Not the holder's to release.
  EXPECT_FALSE(*ReleaseNow(r[1], "u1"));
  EXPECT_EQ(*AcquireNow(r[1], "u1"), 0u);
  EXPECT_TRUE(*ReleaseNow(r[0], "u1"));
  EXPECT_FALSE(*ReleaseNow(r[0], "u1"));  // already free
  const absl::StatusOr<std::uint64_t> second = AcquireNow(r[1], "u1");
  ASSERT_TRUE(second.ok());
  EXPECT_GT(*second, first);
  EXPECT_EQ(*AcquireNow(r[0], "u1"), 0u);
}

TEST(PollLeaseTest, AnExpiredLeaseIsTakenOver) {
  SKIP_WITHOUT_REDIS();
  Replicas r(2);
  const std::uint64_t first = *AcquireNow(r[0], "u1", absl::Milliseconds(50));
  // Wait for Redis to expire it (no fixed sleep).
  ASSERT_TRUE(WaitUntil([&] {
    absl::StatusOr<RedisReply> e =
        Call(*r.clients[0], {"EXISTS", "agleader:watch:{leaf}:lease:u1"});
    return e.ok() && e->integer == 0;
  }));
  const absl::StatusOr<std::uint64_t> taken = AcquireNow(r[1], "u1");
  ASSERT_TRUE(taken.ok());
  EXPECT_GT(*taken, first);
  // The old holder lost it: its renewal is refused.
  EXPECT_EQ(*AcquireNow(r[0], "u1"), 0u);
}

// Three replicas race for users in a seeded order, releasing at random:
// at every moment one holder per user, and every grant's fence is larger
// than all before it for that user.
TEST(PollLeaseTest, SeededRacesKeepOneHolderAndGrowingFences) {
  SKIP_WITHOUT_REDIS();
  Replicas r(3);
  std::mt19937 rng(21);
  std::vector<int> holder(4, -1);
  std::vector<std::uint64_t> last_fence(4, 0);
  for (int step = 0; step < 300; ++step) {
    const int user = rng() % 4;
    const std::string name = absl::StrCat("u", user);
    // All three ask at once (no waiting in between).
    std::vector<std::future<absl::StatusOr<std::uint64_t>>> answers;
    std::vector<int> order = {0, 1, 2};
    std::shuffle(order.begin(), order.end(), rng);
    for (int i : order) {
      auto p = std::make_shared<std::promise<absl::StatusOr<std::uint64_t>>>();
      answers.push_back(p->get_future());
      r[i].Acquire(name, absl::Seconds(60),
                   [p](absl::StatusOr<std::uint64_t> f) { p->set_value(f); });
    }
    int granted = 0;
    for (size_t k = 0; k < answers.size(); ++k) {
      absl::StatusOr<std::uint64_t> f = Wait(answers[k]);
      ASSERT_TRUE(f.ok()) << f.status();
      if (*f == 0) continue;
      ++granted;
      EXPECT_GT(*f, last_fence[user]);
      last_fence[user] = *f;
      if (holder[user] >= 0) EXPECT_EQ(holder[user], order[k]) << "a second holder";
      holder[user] = order[k];
    }
    EXPECT_EQ(granted, 1) << "step " << step;
    if (rng() % 3 == 0) {
      const int releaser = rng() % 3;
      const absl::StatusOr<bool> released = ReleaseNow(r[releaser], name);
      ASSERT_TRUE(released.ok());
      EXPECT_EQ(*released, releaser == holder[user]);
      if (*released) holder[user] = -1;
    }
  }
}

TEST(PollLeaseTest, SurvivesAScriptFlushAndReportsRedisDown) {
  SKIP_WITHOUT_REDIS();
  Replicas r(1);
  ASSERT_EQ(*AcquireNow(r[0], "u1"), 1u);
  ASSERT_TRUE(Call(*r.clients[0], {"SCRIPT", "FLUSH"}).ok());
  EXPECT_EQ(*AcquireNow(r[0], "u1"), 2u);
  EXPECT_TRUE(*ReleaseNow(r[0], "u1"));
  r.server.Kill();
  ASSERT_TRUE(WaitUntil([&] { return !r.clients[0]->up(); }));
  EXPECT_EQ(AcquireNow(r[0], "u1").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReleaseNow(r[0], "u1").status().code(), absl::StatusCode::kUnavailable);
}

TEST(PollLeaseTest, RejectsBadInputAtOnce) {
  RedisClientOptions o;
  o.port = 1;  // never reached
  absl::StatusOr<std::unique_ptr<RedisClient>> client = RedisClient::Create(o);
  ASSERT_TRUE(client.ok());
  int calls = 0;
  auto expect_invalid = [&](absl::Status s) {
    ++calls;
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  };
  PollLease good(client->get(), "leaf", "r1");
  good.Acquire("", absl::Seconds(1),
               [&](absl::StatusOr<std::uint64_t> f) { expect_invalid(f.status()); });
  good.Acquire("u", absl::ZeroDuration(),
               [&](absl::StatusOr<std::uint64_t> f) { expect_invalid(f.status()); });
  PollLease braces(client->get(), "le{af", "r1");
  braces.Acquire("u", absl::Seconds(1),
                 [&](absl::StatusOr<std::uint64_t> f) { expect_invalid(f.status()); });
  PollLease no_id(client->get(), "leaf", "");
  no_id.Release("u", [&](absl::StatusOr<bool> f) { expect_invalid(f.status()); });
  EXPECT_EQ(calls, 4);
}

TEST(PollLeaseTest, ADeadHoldersLeasesAreTakenOverOnceItsHeartbeatLapses) {
  Replicas r(2);
  // Replica 0 beats, takes a long lease, then dies (no release, no beat).
  r[0].Heartbeat(absl::Milliseconds(400));
  r[1].Heartbeat(absl::Seconds(30));
  absl::StatusOr<std::uint64_t> first = AcquireNow(r[0], "u1", absl::Minutes(10));
  ASSERT_TRUE(first.ok());
  ASSERT_GE(*first, 1u);
  // Alive: not taken.
  absl::StatusOr<std::uint64_t> refused = AcquireNow(r[1], "u1", absl::Minutes(10));
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(*refused, 0u);
  // Its heartbeat lapsed: replica 1 takes over, long before the lease's
  // ten minutes, with a newer fence (the dead holder's writes are stale).
  ASSERT_TRUE(WaitUntil([&] {
    absl::StatusOr<std::uint64_t> f = AcquireNow(r[1], "u1", absl::Minutes(10));
    return f.ok() && *f > *first;
  }));
  // And the replica that took over holds it against the first (were it
  // back without beating).
  absl::StatusOr<std::uint64_t> back = AcquireNow(r[0], "u1", absl::Minutes(10));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, 0u);
}

// A replica's first heartbeat may never reach Redis (sent before its
// connection was up: the client refuses it). Its grants say it is alive,
// so the fleet does not take its users over (each take-over costs every
// user one more Leaf read) while it lives.
TEST(PollLeaseTest, AHolderWhoseBeatWasLostKeepsItsLeases) {
  SKIP_WITHOUT_REDIS();
  Replicas r(2);
  r[0].Heartbeat(absl::Seconds(30));
  r[1].Heartbeat(absl::Seconds(30));
  const std::string alive0 = "agleader:watch:{leaf}:alive:replica-0";
  ASSERT_TRUE(WaitUntil([&] {
    absl::StatusOr<RedisReply> e = Call(*r.clients[0], {"EXISTS", alive0});
    return e.ok() && e->integer == 1;
  }));
  // The beat is lost.
  ASSERT_TRUE(Call(*r.clients[0], {"DEL", alive0}).ok());
  absl::StatusOr<std::uint64_t> held = AcquireNow(r[0], "u1", absl::Minutes(10));
  ASSERT_TRUE(held.ok());
  ASSERT_GE(*held, 1u);
  absl::StatusOr<std::uint64_t> other = AcquireNow(r[1], "u1", absl::Minutes(10));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*other, 0u) << "a live holder's lease was taken over";
  // The grant marked it alive for the heartbeat's ttl, not forever.
  absl::StatusOr<RedisReply> ttl = Call(*r.clients[0], {"PTTL", alive0});
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl->integer, 0);
  EXPECT_LE(ttl->integer, 30000);
}

TEST(PollLeaseTest, WithoutHeartbeatsALeaseIsHeldUntilItExpires) {
  Replicas r(2);
  ASSERT_TRUE(AcquireNow(r[0], "u1", absl::Minutes(10)).ok());
  absl::SleepFor(absl::Milliseconds(300));
  absl::StatusOr<std::uint64_t> f = AcquireNow(r[1], "u1", absl::Minutes(10));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f, 0u) << "liveness is off until a replica heartbeats";
}

}  // namespace
}  // namespace leafsvc::fleet
