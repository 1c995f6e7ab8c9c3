// The fleet's fetch on a real redis-server: three replicas reading one
// user cost one Leaf read per round, the others read Redis; stale holders,
// empty state, Redis killed or paused, and cancellation.
#include "server/fleet/fleet_fetch.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "server/errors/status_details.h"
#include "server/fleet/poll_lease.h"
#include "server/fleet/redis_client.h"
#include "server/fleet/shared_watch_state.h"
#include "tests/fleet/redis_harness.h"
#include "tests/support/redis_server.h"

namespace leafsvc::fleet {
namespace {

using ::leafsvc::fleet::testing::Call;
using ::leafsvc::fleet::testing::OptionsFor;
using ::leafsvc::fleet::testing::WaitUntil;
using ::leafsvc::testing::RedisServer;
using watch::Observation;
using watch::Source;

constexpr char kLease[] = "agleader:watch:{leaf}:lease:u1";

Observation Present(const std::string& status) {
  Observation o;
  o.kind = Observation::Kind::kPresent;
  o.credentials.id = "c1";
  o.credentials.status = status;
  leaf::CredentialField f;
  f.name = "refreshToken";
  f.value = Secret("refresh-SECRET-value-0001");
  o.credentials.fields.push_back(std::move(f));
  return o;
}

// Leaf, as the inner fetch: counts reads and answers `answer` at once, or
// (manual) keeps each read until the test finishes it.
class FakeLeaf {
 public:
  struct Read : leaf::Cancellable {
    std::function<void(Observation)> done;
    std::atomic<bool> cancelled{false};
    void Cancel() override { cancelled = true; }
  };

  watch::Poller::Fetch AsFetch() {
    return [this](const std::string&, Source, std::function<void(Observation)> done) {
      reads.fetch_add(1);
      auto read = std::make_shared<Read>();
      Observation answer;
      {
        absl::MutexLock lock(&mu);
        if (manual) {
          read->done = std::move(done);
          pending.push_back(read);
          return std::shared_ptr<leaf::Cancellable>(read);
        }
        answer = this->answer;
      }
      done(answer);
      return std::shared_ptr<leaf::Cancellable>(read);
    };
  }
  void Set(Observation o) {
    absl::MutexLock lock(&mu);
    answer = std::move(o);
  }
  void SetManual(bool m) {
    absl::MutexLock lock(&mu);
    manual = m;
  }
  // The oldest kept read (null if none within the bound).
  std::shared_ptr<Read> TakePending() {
    std::shared_ptr<Read> r;
    WaitUntil([&] {
      absl::MutexLock lock(&mu);
      if (pending.empty()) return false;
      r = pending.front();
      pending.erase(pending.begin());
      return true;
    });
    return r;
  }

  std::atomic<int> reads{0};
  absl::Mutex mu;
  Observation answer = Present("OK");
  bool manual = false;
  std::vector<std::shared_ptr<Read>> pending;
};

// One fetch's outcome; fails the test if done runs twice.
struct Outcome {
  std::function<void(Observation)> Callback() {
    return [this](Observation o) {
      absl::MutexLock lock(&mu);
      ++calls;
      EXPECT_EQ(calls, 1) << "done ran twice";
      result = std::move(o);
    };
  }
  Observation Get() {
    EXPECT_TRUE(WaitUntil([&] {
      absl::MutexLock lock(&mu);
      return calls > 0;
    })) << "done never ran";
    absl::MutexLock lock(&mu);
    return result;
  }
  absl::Mutex mu;
  int calls = 0;
  Observation result;
};

struct Replica {
  Replica(RedisServer& server, int i, absl::Duration command_timeout) {
    RedisClientOptions o = OptionsFor(server);
    o.command_timeout = command_timeout;
    client = *RedisClient::Create(o);
    EXPECT_TRUE(WaitUntil([&] { return client->up(); }));
    lease = std::make_unique<PollLease>(client.get(), "leaf", absl::StrCat("replica-", i));
    state = *SharedWatchState::Create(client.get(), {});
    FleetFetchOptions fo;
    fo.lease_ttl = [] { return absl::Seconds(60); };
    fetch = std::make_unique<FleetFetch>(leaf.AsFetch(), lease.get(), state.get(), fo);
  }
  Observation FetchNow(const std::string& user = "u1") {
    Outcome out;
    fetch->Fetch(user, Source::kPoll, out.Callback());
    return out.Get();
  }

  FakeLeaf leaf;
  std::unique_ptr<RedisClient> client;
  std::unique_ptr<PollLease> lease;
  std::unique_ptr<SharedWatchState> state;
  std::unique_ptr<FleetFetch> fetch;
};

struct Fleet {
  explicit Fleet(int n, absl::Duration command_timeout = absl::Seconds(5)) {
    EXPECT_TRUE(server.Start().ok());
    for (int i = 0; i < n; ++i) {
      replicas.push_back(std::make_unique<Replica>(server, i, command_timeout));
    }
  }
  Replica& operator[](int i) { return *replicas[i]; }
  int LeafReads() {
    int n = 0;
    for (auto& r : replicas) n += r->leaf.reads.load();
    return n;
  }

  RedisServer server;
  std::vector<std::unique_ptr<Replica>> replicas;
};

std::optional<absl::Duration> RetryOf(const Observation& o) {
  return GetStatusDetails(o.error).retry_delay;
}

TEST(FleetFetchTest, ThreeReplicasCostOneLeafReadPerRound) {
  SKIP_WITHOUT_REDIS();
  Fleet fleet(3);
  // Round 1 in order: the first replica takes the lease and shares.
  Observation first = fleet[0].FetchNow();
  ASSERT_EQ(first.kind, Observation::Kind::kPresent);
  EXPECT_GT(first.version, 0u);
  ASSERT_TRUE(first.position.has_value());
  EXPECT_EQ(first.known_since, first.position);
  // The holder's own watchers get the read itself (with its value).
  EXPECT_EQ(first.credentials.fields[0].value.Reveal(), "refresh-SECRET-value-0001");
  for (int i : {1, 2}) {
    Observation shared = fleet[i].FetchNow();
    ASSERT_EQ(shared.kind, Observation::Kind::kPresent);
    EXPECT_EQ(shared.version, first.version);
    EXPECT_EQ(shared.position, first.position);
    EXPECT_TRUE(shared.credentials.fields[0].value.empty());
    EXPECT_EQ(shared.credentials.fields[0].hint, "****0001");
  }
  EXPECT_EQ(fleet.LeafReads(), 1);

  // Then 30 rounds of all three at once, in a seeded order, Leaf's state
  // moving now and then: one Leaf read per round for the whole fleet.
  std::mt19937 rng(321);
  std::uint64_t last_version = first.version;
  for (int round = 0; round < 30; ++round) {
    const std::string status = round % 7 < 4 ? "OK" : "UNAUTHENTICATED";
    fleet[0].leaf.Set(Present(status));
    std::vector<int> order = {0, 1, 2};
    std::shuffle(order.begin(), order.end(), rng);
    Outcome outs[3];
    for (int i : order) fleet[i].fetch->Fetch("u1", Source::kPoll, outs[i].Callback());
    for (int i = 0; i < 3; ++i) {
      const Observation o = outs[i].Get();
      ASSERT_EQ(o.kind, Observation::Kind::kPresent) << "round " << round << " replica " << i;
      EXPECT_GE(o.version, first.version);
      if (i == 0) {
        EXPECT_EQ(o.credentials.status, status);
        EXPECT_GE(o.version, last_version);
        last_version = o.version;
      }
    }
    EXPECT_EQ(fleet.LeafReads(), round + 2) << "round " << round;
  }
  EXPECT_EQ(fleet[0].fetch->leaf_reads(), 31u);
  EXPECT_EQ(fleet[1].fetch->leaf_reads() + fleet[2].fetch->leaf_reads(), 0u);
  EXPECT_EQ(fleet[1].fetch->shared_reads(), 31u);
  EXPECT_EQ(fleet[0].fetch->fallbacks(), 0u);
  // A non-holder's next read sees the holder's last state.
  EXPECT_EQ(fleet[1].FetchNow().version, last_version);
}

TEST(FleetFetchTest, NothingSharedYetIsNotReadForASecond) {
  SKIP_WITHOUT_REDIS();
  Fleet fleet(2);
  fleet[0].leaf.SetManual(true);
  Outcome holder;
  fleet[0].fetch->Fetch("u1", Source::kInitial, holder.Callback());
  std::shared_ptr<FakeLeaf::Read> read = fleet[0].leaf.TakePending();
  ASSERT_NE(read, nullptr);
  // The holder is still reading Leaf: nothing stored.
  const Observation waiting = fleet[1].FetchNow();
  EXPECT_EQ(waiting.kind, Observation::Kind::kNotRead);
  EXPECT_EQ(RetryOf(waiting), absl::Seconds(1));
  EXPECT_EQ(fleet[1].leaf.reads.load(), 0);
  read->done(Present("OK"));
  EXPECT_EQ(holder.Get().kind, Observation::Kind::kPresent);
  EXPECT_EQ(fleet[1].FetchNow().kind, Observation::Kind::kPresent);
}

TEST(FleetFetchTest, NotReadPassesThroughUnpublished) {
  SKIP_WITHOUT_REDIS();
  Fleet fleet(1);
  Observation refused;
  refused.kind = Observation::Kind::kNotRead;
  StatusDetails d;
  d.reason = "LEAF_RATE_LIMITED";
  d.retry_delay = absl::Seconds(7);
  refused.error = MakeStatus(absl::StatusCode::kResourceExhausted, "budget", d);
  fleet[0].leaf.Set(refused);
  const Observation o = fleet[0].FetchNow();
  EXPECT_EQ(o.kind, Observation::Kind::kNotRead);
  EXPECT_EQ(o.error, refused.error);
  EXPECT_EQ(o.version, 0u);
  absl::StatusOr<RedisReply> len =
      Call(*fleet[0].client, {"EXISTS", "agleader:watch:{leaf}:changes"});
  ASSERT_TRUE(len.ok());
  EXPECT_EQ(len->integer, 0);
}

// The holder lost its lease while reading Leaf and another replica got a
// newer grant: its answer must not reach the watchers (it may be older
// than what the new holder publishes).
TEST(FleetFetchTest, AStaleHolderHandsOnNotRead) {
  SKIP_WITHOUT_REDIS();
  Fleet fleet(2);
  fleet[0].leaf.SetManual(true);
  Outcome stale;
  fleet[0].fetch->Fetch("u1", Source::kPoll, stale.Callback());
  std::shared_ptr<FakeLeaf::Read> read = fleet[0].leaf.TakePending();
  ASSERT_NE(read, nullptr);
  ASSERT_TRUE(Call(*fleet[1].client, {"DEL", kLease}).ok());  // as if it expired
  const Observation fresh = fleet[1].FetchNow();
  ASSERT_EQ(fresh.kind, Observation::Kind::kPresent);
  read->done(Present("UNAUTHENTICATED"));
  const Observation o = stale.Get();
  EXPECT_EQ(o.kind, Observation::Kind::kNotRead);
  EXPECT_EQ(RetryOf(o), absl::Milliseconds(200));
  EXPECT_EQ(fleet[1].FetchNow().credentials.status, "OK");
}

TEST(FleetFetchTest, RedisKilledFallsBackToLeafAlone) {
  SKIP_WITHOUT_REDIS();
  Fleet fleet(2);
  ASSERT_GT(fleet[0].FetchNow().version, 0u);
  // Killed between the lease and the publish: the read still answers.
  fleet[0].leaf.SetManual(true);
  Outcome mid;
  fleet[0].fetch->Fetch("u1", Source::kPoll, mid.Callback());
  std::shared_ptr<FakeLeaf::Read> read = fleet[0].leaf.TakePending();
  ASSERT_NE(read, nullptr);
  fleet.server.Kill();
  ASSERT_TRUE(WaitUntil([&] { return !fleet[0].client->up() && !fleet[1].client->up(); }));
  read->done(Present("UNAUTHENTICATED"));
  Observation o = mid.Get();
  EXPECT_EQ(o.kind, Observation::Kind::kPresent);
  EXPECT_EQ(o.credentials.status, "UNAUTHENTICATED");
  EXPECT_EQ(o.version, 0u);
  EXPECT_EQ(fleet[0].fetch->fallbacks(), 1u);
  fleet[0].leaf.SetManual(false);

  // Down: each replica reads Leaf itself, not shared.
  for (int i : {0, 1}) {
    o = fleet[i].FetchNow();
    EXPECT_EQ(o.kind, Observation::Kind::kPresent);
    EXPECT_EQ(o.version, 0u);
  }
  EXPECT_EQ(fleet[1].leaf.reads.load(), 1);
  EXPECT_EQ(fleet[1].fetch->fallbacks(), 1u);

  // Back: shared again, with no restart.
  ASSERT_TRUE(fleet.server.Restart().ok());
  ASSERT_TRUE(WaitUntil([&] { return fleet[0].client->up() && fleet[1].client->up(); }));
  EXPECT_GT(fleet[0].FetchNow().version, 0u);
  const int reads_before = fleet[1].leaf.reads.load();
  EXPECT_GT(fleet[1].FetchNow().version, 0u);
  EXPECT_EQ(fleet[1].leaf.reads.load(), reads_before);
}

TEST(FleetFetchTest, RedisPausedCostsABoundedWaitThenLeafAlone) {
  SKIP_WITHOUT_REDIS();
  Fleet fleet(1, /*command_timeout=*/absl::Milliseconds(200));
  ASSERT_GT(fleet[0].FetchNow().version, 0u);
  fleet.server.Pause();
  const absl::Time t0 = absl::Now();
  const Observation o = fleet[0].FetchNow();
  const absl::Duration took = absl::Now() - t0;
  fleet.server.Resume();
  EXPECT_EQ(o.kind, Observation::Kind::kPresent);
  EXPECT_EQ(o.version, 0u);
  EXPECT_EQ(fleet[0].fetch->fallbacks(), 1u);
  EXPECT_LT(took, absl::Seconds(10));  // generous: the deadline is 200 ms
}

TEST(FleetFetchTest, CancelStopsTheStageInProgress) {
  SKIP_WITHOUT_REDIS();
  Fleet fleet(1);
  // Cancelled while the lease is being asked for (Redis paused, so the
  // answer surely comes after the Cancel): no Leaf read, done once with
  // CANCELLED.
  fleet.server.Pause();
  Outcome early;
  fleet[0].fetch->Fetch("u1", Source::kPoll, early.Callback())->Cancel();
  fleet.server.Resume();
  Observation o = early.Get();
  EXPECT_EQ(o.kind, Observation::Kind::kError);
  EXPECT_EQ(o.error.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(fleet[0].leaf.reads.load(), 0);

  // Cancelled during the Leaf read: the read is cancelled, its answer ends
  // the fetch and nothing is published.
  fleet[0].leaf.SetManual(true);
  Outcome mid;
  std::shared_ptr<leaf::Cancellable> call =
      fleet[0].fetch->Fetch("u1", Source::kPoll, mid.Callback());
  std::shared_ptr<FakeLeaf::Read> read = fleet[0].leaf.TakePending();
  ASSERT_NE(read, nullptr);
  call->Cancel();
  call->Cancel();  // twice is once
  EXPECT_TRUE(read->cancelled.load());
  Observation cancelled;
  cancelled.kind = Observation::Kind::kError;
  cancelled.error = absl::CancelledError("cancelled");
  read->done(cancelled);
  o = mid.Get();
  EXPECT_EQ(o.error.code(), absl::StatusCode::kCancelled);
  absl::StatusOr<RedisReply> exists =
      Call(*fleet[0].client, {"EXISTS", "agleader:watch:{leaf}:state:u1"});
  ASSERT_TRUE(exists.ok());
  EXPECT_EQ(exists->integer, 0);
  // Cancel after done: nothing happens.
  call->Cancel();
  absl::SleepFor(absl::Milliseconds(20));
  absl::MutexLock lock(&mid.mu);
  EXPECT_EQ(mid.calls, 1);
}

class RecordingControl : public watch::PollControl {
 public:
  void Add(const std::string& user) override { log.push_back("add " + user); }
  void Remove(const std::string& user) override { log.push_back("remove " + user); }
  bool PollNow(const std::string& user, Source) override {
    log.push_back("poll " + user);
    return true;
  }
  std::vector<std::string> log;
};

TEST(FleetFetchTest, RemoveGivesTheLeaseUp) {
  SKIP_WITHOUT_REDIS();
  Fleet fleet(2);
  ASSERT_GT(fleet[0].FetchNow().version, 0u);
  RecordingControl inner;
  FleetPollControl control(&inner, fleet[0].lease.get());
  control.Add("u1");
  EXPECT_TRUE(control.PollNow("u1", Source::kAlert));
  control.Remove("u1");
  EXPECT_EQ(inner.log, (std::vector<std::string>{"add u1", "poll u1", "remove u1"}));
  // The other replica takes over at its next read (Leaf, not Redis).
  ASSERT_TRUE(WaitUntil([&] {
    absl::StatusOr<RedisReply> e = Call(*fleet[1].client, {"EXISTS", kLease});
    return e.ok() && e->integer == 0;
  }));
  EXPECT_GT(fleet[1].FetchNow().version, 0u);
  EXPECT_EQ(fleet[1].leaf.reads.load(), 1);
}

}  // namespace
}  // namespace leafsvc::fleet
