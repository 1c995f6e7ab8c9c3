// The alert stream shared by replicas, against a real redis-server: several
// buses (each with its own pair of clients) play the replicas of one fleet.
// Bounds are generous (a hang fails them, a slow machine does not); the
// latency figures are printed.
#include "server/fleet/redis_alert_bus.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/fleet/redis_client.h"
#include "server/watch/alert_bus.h"
#include "tests/fleet/redis_harness.h"
#include "tests/support/redis_server.h"

namespace leafsvc::fleet {
namespace {

using ::leafsvc::fleet::testing::Call;
using ::leafsvc::fleet::testing::kHang;
using ::leafsvc::fleet::testing::OptionsFor;
using ::leafsvc::fleet::testing::StateLog;
using ::leafsvc::fleet::testing::WaitUntil;
using ::leafsvc::testing::RedisServer;
using ::leafsvc::watch::CredentialAlert;

CredentialAlert Alert(const std::string& id) {
  CredentialAlert a;
  a.credential_id = id;
  a.provider = "JohnDeere";
  a.credential_type = "JohnDeereCredentials";
  a.event = "credentialsUnauthenticated";
  a.status = "UNAUTHENTICATED";
  return a;
}

// What one subscriber heard: how many times each credential id, and when
// first.
class Heard {
 public:
  void Record(const CredentialAlert& a) {
    absl::MutexLock lock(&mu_);
    if (count_[a.credential_id]++ == 0) first_[a.credential_id] = absl::Now();
    last_ = a;
  }
  int count(const std::string& id) {
    absl::MutexLock lock(&mu_);
    auto it = count_.find(id);
    return it == count_.end() ? 0 : it->second;
  }
  absl::Time first(const std::string& id) {
    absl::MutexLock lock(&mu_);
    return first_[id];
  }
  CredentialAlert last() {
    absl::MutexLock lock(&mu_);
    return last_;
  }
  bool WaitFor(const std::string& id, absl::Duration limit = kHang) {
    return WaitUntil([&] { return count(id) > 0; }, limit);
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> count_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Time> first_ ABSL_GUARDED_BY(mu_);
  CredentialAlert last_ ABSL_GUARDED_BY(mu_);
};

// One replica: a writer client, a reader client (whose on_state(true) is
// forwarded to the bus) and the bus, with one subscriber recording.
class Replica {
 public:
  Replica(const RedisServer& server, const std::string& name,
          std::optional<RedisClientOptions> reader_given = std::nullopt) {
    RedisClientOptions w = OptionsFor(server);
    w.on_state = writer_states.Callback();
    writer = *RedisClient::Create(std::move(w));
    RedisClientOptions reader_options = reader_given ? *reader_given : OptionsFor(server);
    reader_options.on_state = [this](bool up) {
      reader_states.Callback()(up);
      absl::MutexLock lock(&forward_mu_);
      if (up && forward_ != nullptr) forward_->OnRedisUp();
    };
    reader = *RedisClient::Create(std::move(reader_options));
    EXPECT_TRUE(writer_states.WaitFor(true));
    EXPECT_TRUE(reader_states.WaitFor(true));
    // The reader's connection id, for CLIENT KILL (asked before XREAD
    // occupies the connection).
    absl::StatusOr<RedisReply> id = Call(*reader, {"CLIENT", "ID"});
    if (id.ok()) reader_connection_id = id->integer;

    RedisAlertBusOptions o;
    o.writer = writer.get();
    o.reader = reader.get();
    o.replica_id = name;
    o.on_fallback = [this] { on_fallback_calls.fetch_add(1); };
    absl::StatusOr<std::unique_ptr<RedisAlertBus>> b = RedisAlertBus::Create(std::move(o));
    EXPECT_TRUE(b.ok()) << b.status();
    bus = *std::move(b);
    {
      absl::MutexLock lock(&forward_mu_);
      forward_ = bus.get();
    }
    subscription = bus->Subscribe([this](const CredentialAlert& a) { heard.Record(a); });
  }

  ~Replica() { DestroyBus(); }

  void DestroyBus() {
    {
      absl::MutexLock lock(&forward_mu_);
      forward_ = nullptr;
    }
    bus.reset();
  }

  // Declared before the clients: the reader's on_state uses them until the
  // reader is gone.
 private:
  absl::Mutex forward_mu_;
  RedisAlertBus* forward_ ABSL_GUARDED_BY(forward_mu_) = nullptr;

 public:
  StateLog writer_states;
  StateLog reader_states;
  std::unique_ptr<RedisClient> writer;
  std::unique_ptr<RedisClient> reader;
  std::int64_t reader_connection_id = -1;
  std::atomic<int> on_fallback_calls{0};
  Heard heard;
  std::unique_ptr<RedisAlertBus> bus;
  watch::AlertBus::SubscriptionId subscription = 0;
};

// Until every replica has heard one probe from `from`: their readers are
// past their start (which skips what was there before).
void WarmUp(Replica& from, const std::vector<Replica*>& all) {
  for (int i = 0;; ++i) {
    const std::string id = absl::StrCat("warmup-", i);
    from.bus->Publish(Alert(id));
    const bool everywhere = WaitUntil(
        [&] {
          return std::all_of(all.begin(), all.end(),
                             [&](Replica* r) { return r->heard.count(id) > 0; });
        },
        absl::Milliseconds(500));
    if (everywhere) return;
    ASSERT_LT(i, 60) << "the replicas never all heard a probe";
  }
}

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

TEST(RedisAlertBusTest, CreateRefusesBadOptions) {
  RedisClientOptions nowhere;
  nowhere.port = 1;  // nothing listens: the clients just stay down
  auto a = *RedisClient::Create(nowhere);
  auto b = *RedisClient::Create(nowhere);
  auto create = [](RedisAlertBusOptions o) { return RedisAlertBus::Create(std::move(o)).status(); };
  RedisAlertBusOptions good;
  good.writer = a.get();
  good.reader = b.get();
  RedisAlertBusOptions o = good;
  o.writer = nullptr;
  EXPECT_EQ(create(o).code(), absl::StatusCode::kInvalidArgument);
  o = good;
  o.reader = nullptr;
  EXPECT_EQ(create(o).code(), absl::StatusCode::kInvalidArgument);
  o = good;
  o.reader = a.get();
  EXPECT_EQ(create(o).code(), absl::StatusCode::kInvalidArgument) << "XREAD BLOCK would hold XADD";
  o = good;
  o.stream_key = "";
  EXPECT_EQ(create(o).code(), absl::StatusCode::kInvalidArgument);
  o = good;
  o.max_len = 0;
  EXPECT_EQ(create(o).code(), absl::StatusCode::kInvalidArgument);
  o = good;
  o.block = absl::ZeroDuration();
  EXPECT_EQ(create(o).code(), absl::StatusCode::kInvalidArgument);
  // Redis unreachable from the start: Publish still reaches this replica.
  auto bus = RedisAlertBus::Create(good);
  ASSERT_TRUE(bus.ok());
  Heard heard;
  (*bus)->Subscribe([&](const CredentialAlert& x) { heard.Record(x); });
  (*bus)->Publish(Alert("alone"));
  ASSERT_TRUE(heard.WaitFor("alone"));
  EXPECT_EQ((*bus)->fallbacks(), 1u);
}

TEST(RedisAlertBusTest, AnAlertReachesEveryReplicaExactlyOnce) {
  SKIP_WITHOUT_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  Replica a(server, "a"), b(server, "b"), c(server, "c");
  std::vector<Replica*> all = {&a, &b, &c};
  WarmUp(a, all);

  constexpr int kAlerts = 200;
  std::vector<double> latencies;
  for (int i = 0; i < kAlerts; ++i) {
    // From each replica in turn: every one publishes and every one reads.
    Replica& from = *all[i % 3];
    const std::string id = absl::StrCat("cred-", i);
    const absl::Time sent = absl::Now();
    from.bus->Publish(Alert(id));
    for (Replica* r : all) {
      ASSERT_TRUE(r->heard.WaitFor(id)) << id;
      latencies.push_back(Ms(r->heard.first(id) - sent));
    }
  }
  // Late duplicates would have arrived by now.
  absl::SleepFor(absl::Milliseconds(300));
  for (Replica* r : all) {
    for (int i = 0; i < kAlerts; ++i) {
      ASSERT_EQ(r->heard.count(absl::StrCat("cred-", i)), 1) << i;
    }
    EXPECT_EQ(r->bus->fallbacks(), 0u);
    EXPECT_EQ(r->bus->malformed(), 0u);
  }
  const CredentialAlert last = c.heard.last();
  EXPECT_EQ(last.credential_id, absl::StrCat("cred-", kAlerts - 1));
  EXPECT_EQ(last.provider, "JohnDeere");
  EXPECT_EQ(last.credential_type, "JohnDeereCredentials");
  EXPECT_EQ(last.event, "credentialsUnauthenticated");
  EXPECT_EQ(last.status, "UNAUTHENTICATED");

  std::sort(latencies.begin(), latencies.end());
  const double p50 = latencies[latencies.size() / 2];
  const double p99 = latencies[latencies.size() * 99 / 100];
  std::printf("alert to subscriber, 3 replicas, %d alerts: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
              kAlerts, p50, p99, latencies.back());
  EXPECT_LT(p99, 2000.0);
}

// A connect link's prompt (issue 22) names its Leaf user: the other
// replicas get the user too, so they read that user at once though they do
// not know the new credential's id. An ordinary alert carries none.
TEST(RedisAlertBusTest, AConnectLinkPromptCarriesItsUserToEveryReplica) {
  SKIP_WITHOUT_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  Replica a(server, "a"), b(server, "b");
  std::vector<Replica*> all = {&a, &b};
  WarmUp(a, all);
  CredentialAlert prompt = Alert("new-cred");
  prompt.leaf_user_id = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
  prompt.event = "connectLinkConnected";
  a.bus->Publish(prompt);
  ASSERT_TRUE(b.heard.WaitFor("new-cred"));
  EXPECT_EQ(b.heard.last().leaf_user_id, "3fa85f64-5717-4562-b3fc-2c963f66afa6");
  EXPECT_EQ(b.heard.last().event, "connectLinkConnected");
  a.bus->Publish(Alert("plain"));
  ASSERT_TRUE(b.heard.WaitFor("plain"));
  EXPECT_EQ(b.heard.last().leaf_user_id, "");
}

// A replica whose reader was still connecting when another published (its
// watchers may already be reading) still hears that alert, once: a new
// reader starts a few seconds back, not at the stream's end.
TEST(RedisAlertBusTest, AReplicaStartingJustAfterAnAlertStillHearsIt) {
  SKIP_WITHOUT_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  Replica a(server, "a");
  a.bus->Publish(Alert("just-before-b"));
  ASSERT_TRUE(a.heard.WaitFor("just-before-b"));  // in the stream now
  Replica b(server, "b");
  ASSERT_TRUE(b.heard.WaitFor("just-before-b"));
  b.bus->Publish(Alert("after-b"));
  ASSERT_TRUE(b.heard.WaitFor("after-b"));
  EXPECT_EQ(b.heard.count("just-before-b"), 1);
}

TEST(RedisAlertBusTest, RedisKilledFallsBackLocallyThenRestartedFlowsAgain) {
  SKIP_WITHOUT_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  Replica a(server, "a"), b(server, "b");
  WarmUp(a, {&a, &b});

  server.Kill();
  ASSERT_TRUE(a.writer_states.WaitFor(false));
  a.bus->Publish(Alert("while-down"));
  ASSERT_TRUE(a.heard.WaitFor("while-down"));
  EXPECT_EQ(a.bus->fallbacks(), 1u);
  EXPECT_EQ(a.on_fallback_calls.load(), 1);
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(b.heard.count("while-down"), 0);

  // Same buses, same clients: a new (empty) Redis on the same port.
  ASSERT_TRUE(server.Restart().ok());
  ASSERT_TRUE(a.writer_states.WaitFor(true, 3));
  ASSERT_TRUE(b.writer_states.WaitFor(true, 3));
  b.bus->Publish(Alert("after-restart-from-b"));
  a.bus->Publish(Alert("after-restart-from-a"));
  for (Replica* r : {&a, &b}) {
    ASSERT_TRUE(r->heard.WaitFor("after-restart-from-b"));
    ASSERT_TRUE(r->heard.WaitFor("after-restart-from-a"));
  }
  absl::SleepFor(absl::Milliseconds(300));
  for (Replica* r : {&a, &b}) {
    EXPECT_EQ(r->heard.count("after-restart-from-a"), 1);
    EXPECT_EQ(r->heard.count("after-restart-from-b"), 1);
  }
  EXPECT_EQ(a.heard.count("while-down"), 1);
  EXPECT_EQ(a.bus->fallbacks(), 1u);
  EXPECT_EQ(b.bus->fallbacks(), 0u);
}

TEST(RedisAlertBusTest, RedisPausedCostsBoundedRetriesAndLocalDelivery) {
  SKIP_WITHOUT_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  Replica a(server, "a"), b(server, "b");
  WarmUp(a, {&a, &b});

  const std::uint64_t reads_before = a.bus->read_commands() + b.bus->read_commands();
  server.Pause();
  const absl::Time paused = absl::Now();
  a.bus->Publish(Alert("while-paused"));
  // XADD times out (500 ms): delivered here at once after that.
  ASSERT_TRUE(a.heard.WaitFor("while-paused", absl::Seconds(2)));
  absl::SleepFor(absl::Seconds(3) - (absl::Now() - paused));
  const std::uint64_t reads_paused = a.bus->read_commands() + b.bus->read_commands() - reads_before;
  std::printf("reader commands of 2 buses during a 3 s pause: %llu\n",
              static_cast<unsigned long long>(reads_paused));
  // A busy loop would send thousands; backoff (to 1 s) allows about 8 each.
  EXPECT_LE(reads_paused, 30u);
  server.Resume();

  // Flows again, and the paused alert was heard once here (even if Redis
  // carried out the timed-out XADD after all) and at most once elsewhere.
  for (int i = 0;; ++i) {
    const std::string id = absl::StrCat("after-pause-", i);
    a.bus->Publish(Alert(id));
    if (a.heard.WaitFor(id, absl::Seconds(1)) && b.heard.WaitFor(id, absl::Seconds(1))) break;
    ASSERT_LT(i, 30) << "alerts never flowed again after SIGCONT";
  }
  absl::SleepFor(absl::Seconds(2));
  EXPECT_EQ(a.heard.count("while-paused"), 1);
  EXPECT_LE(b.heard.count("while-paused"), 1);
  EXPECT_GE(a.bus->fallbacks(), 1u);
}

TEST(RedisAlertBusTest, AReaderThatLostItsConnectionResumesFromItsLastId) {
  SKIP_WITHOUT_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  Replica a(server, "a");
  // B's reader comes back slowly (1 to 2 s), so the alerts below are all
  // published while it is away.
  RedisClientOptions slow = OptionsFor(server);
  slow.min_reconnect_backoff = absl::Seconds(2);
  slow.max_reconnect_backoff = absl::Seconds(2);
  Replica b(server, "b", slow);
  ASSERT_GE(b.reader_connection_id, 0);
  WarmUp(a, {&a, &b});

  RedisClientOptions admin_options = OptionsFor(server);
  auto admin = *RedisClient::Create(admin_options);
  ASSERT_TRUE(WaitUntil([&] { return admin->up(); }));
  ASSERT_EQ(*Call(*admin, {"CLIENT", "KILL", "ID", absl::StrCat(b.reader_connection_id)}),
            RedisReply::Integer(1));
  ASSERT_TRUE(b.reader_states.WaitFor(false, 2));

  constexpr int kMissed = 20;
  for (int i = 0; i < kMissed; ++i) a.bus->Publish(Alert(absl::StrCat("missed-", i)));
  for (int i = 0; i < kMissed; ++i) ASSERT_TRUE(a.heard.WaitFor(absl::StrCat("missed-", i)));
  ASSERT_FALSE(b.reader->up()) << "B's reader came back too early for this test to mean much";
  EXPECT_EQ(b.heard.count("missed-0"), 0);

  for (int i = 0; i < kMissed; ++i) ASSERT_TRUE(b.heard.WaitFor(absl::StrCat("missed-", i))) << i;
  absl::SleepFor(absl::Milliseconds(300));
  for (int i = 0; i < kMissed; ++i) EXPECT_EQ(b.heard.count(absl::StrCat("missed-", i)), 1) << i;
}

TEST(RedisAlertBusTest, MalformedAndOversizedEntriesAreBoundedOrSkipped) {
  SKIP_WITHOUT_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  Replica a(server, "a");
  WarmUp(a, {&a});
  auto admin = *RedisClient::Create(OptionsFor(server));
  ASSERT_TRUE(WaitUntil([&] { return admin->up(); }));
  const std::string key = "agleader:alerts";
  // Written by something else than a bus: only what the bus can read counts.
  ASSERT_TRUE(Call(*admin, {"XADD", key, "*", "provider", "x"}).ok());
  ASSERT_TRUE(Call(*admin, {"XADD", key, "*", "credential_id", std::string(300, 'i')}).ok());
  ASSERT_TRUE(Call(*admin, {"XADD", key, "*", "credential_id", "big", "provider",
                            std::string(10000, 'p'), "status", std::string(5000, 's')})
                  .ok());
  ASSERT_TRUE(Call(*admin, {"XADD", key, "*", "credential_id", "plain"}).ok());
  ASSERT_TRUE(a.heard.WaitFor("plain"));
  EXPECT_EQ(a.heard.count("big"), 1);
  EXPECT_EQ(a.bus->malformed(), 2u);
  const CredentialAlert last = a.heard.last();
  EXPECT_EQ(last.credential_id, "plain");
  EXPECT_EQ(last.provider, "");

  // Publish bounds what it appends too.
  CredentialAlert huge = Alert("huge");
  huge.event = std::string(100000, 'e');
  a.bus->Publish(huge);
  ASSERT_TRUE(a.heard.WaitFor("huge"));
  EXPECT_EQ(a.heard.last().event.size(), kMaxFieldBytes);
  absl::StatusOr<RedisReply> tail = Call(*admin, {"XREVRANGE", key, "+", "-", "COUNT", "1"});
  ASSERT_TRUE(tail.ok());
  EXPECT_LT(tail->DebugString().size(), 2000u);
  a.bus->Publish(Alert(""));
  a.bus->Publish(Alert(std::string(1000, 'x')));
  EXPECT_EQ(a.bus->malformed(), 4u);
}

TEST(RedisAlertBusTest, UnsubscribeAndDestructionHoldUnderConcurrentPublishing) {
  SKIP_WITHOUT_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  Replica a(server, "a"), b(server, "b");
  WarmUp(a, {&a, &b});

  std::atomic<bool> stop{false};
  std::thread publisher([&] {
    for (int i = 0; !stop.load(); ++i) {
      a.bus->Publish(Alert(absl::StrCat("load-", i)));
      absl::SleepFor(absl::Milliseconds(1));
    }
  });
  std::atomic<int> late_calls{0};
  for (int round = 0; round < 20; ++round) {
    auto gone = std::make_shared<std::atomic<bool>>(false);
    auto calls = std::make_shared<std::atomic<int>>(0);
    RedisAlertBus* bus = (round % 2 == 0 ? a : b).bus.get();
    const auto id = bus->Subscribe([gone, calls, &late_calls](const CredentialAlert&) {
      if (gone->load()) late_calls.fetch_add(1);
      calls->fetch_add(1);
      absl::SleepFor(absl::Microseconds(200));  // widen the window
    });
    ASSERT_TRUE(WaitUntil([&] { return calls->load() > 0; }));
    bus->Unsubscribe(id);
    bus->Unsubscribe(id);  // idempotent
    gone->store(true);
  }
  // Destroyed while alerts arrive and a handler may be running.
  std::atomic<bool> in_handler{false};
  std::atomic<bool> destroyed{false};
  b.bus->Subscribe([&](const CredentialAlert&) {
    if (destroyed.load()) late_calls.fetch_add(1);
    in_handler.store(true);
    absl::SleepFor(absl::Milliseconds(50));
    in_handler.store(false);
  });
  ASSERT_TRUE(WaitUntil([&] { return in_handler.load(); }));
  b.DestroyBus();
  destroyed.store(true);
  EXPECT_FALSE(in_handler.load()) << "the destructor returned during a handler call";
  absl::SleepFor(absl::Milliseconds(200));
  stop.store(true);
  publisher.join();
  EXPECT_EQ(late_calls.load(), 0);
}

}  // namespace
}  // namespace leafsvc::fleet
