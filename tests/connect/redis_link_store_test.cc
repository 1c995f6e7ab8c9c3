// The Redis store on a real redis-server: the LinkStore contract, atomic
// single-use takes and connect-once updates across clients (replicas), keys
// with TTLs and no raw state in Redis, and UNAVAILABLE (never a hang) when
// Redis is down or stalled.
#include "server/connect/redis_link_store.h"

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/fleet/redis_client.h"
#include "tests/connect/store_sync.h"
#include "tests/support/redis_server.h"

namespace leafsvc::connect {
namespace {

using fleet::RedisClient;
using fleet::RedisReply;
using ::leafsvc::testing::RedisServer;
using testing::CreateNow;
using testing::GetNow;
using testing::PutNow;
using testing::TakeNow;
using testing::TestAttempt;
using testing::TestLink;
using testing::UpdateNow;

bool WaitUntil(const std::function<bool()>& pred) {
  const absl::Time end = absl::Now() + absl::Seconds(30);
  while (!pred()) {
    if (absl::Now() > end) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

absl::StatusOr<RedisReply> Call(RedisClient& client, std::vector<std::string> argv) {
  auto p = std::make_shared<std::promise<absl::StatusOr<RedisReply>>>();
  auto f = p->get_future();
  client.Command(std::move(argv),
                 [p](absl::StatusOr<RedisReply> r) { p->set_value(std::move(r)); });
  return testing::WaitFor(f, absl::StatusOr<RedisReply>(absl::InternalError("hang")));
}

class RedisLinkStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::Available()) GTEST_SKIP() << "redis-server is missing";
    ASSERT_TRUE(server_.Start().ok());
    for (int i = 0; i < 2; ++i) {
      fleet::RedisClientOptions o;
      o.port = server_.port();
      o.min_reconnect_backoff = absl::Milliseconds(20);
      o.max_reconnect_backoff = absl::Milliseconds(200);
      o.command_timeout = absl::Milliseconds(300);
      absl::StatusOr<std::unique_ptr<RedisClient>> c = RedisClient::Create(o);
      ASSERT_TRUE(c.ok()) << c.status();
      clients_.push_back(*std::move(c));
      ASSERT_TRUE(WaitUntil([&] { return clients_.back()->up(); }));
      stores_.push_back(std::make_unique<RedisLinkStore>(clients_.back().get(), "test"));
    }
  }
  RedisLinkStore& store(int i = 0) { return *stores_[i]; }
  RedisClient& client() { return *clients_[0]; }

  RedisServer server_;
  std::vector<std::unique_ptr<RedisClient>> clients_;
  std::vector<std::unique_ptr<RedisLinkStore>> stores_;
};

TEST_F(RedisLinkStoreTest, RoundTripsEveryFieldAcrossReplicas) {
  const absl::Time now = absl::FromUnixMillis(absl::ToUnixMillis(absl::Now()));
  ConnectLink l = TestLink("l1", now);
  l.error_reason = "X";
  l.error_message = "a message with \"quotes\" and ünïcode";
  ASSERT_TRUE(CreateNow(store(0), l).ok());
  absl::StatusOr<ConnectLink> got = GetNow(store(1), "l1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->id, "l1");
  EXPECT_EQ(got->leaf_user_id, l.leaf_user_id);
  EXPECT_EQ(got->return_url, l.return_url);
  EXPECT_EQ(got->state, LinkState::kPending);
  EXPECT_EQ(got->create_time, now);
  EXPECT_EQ(got->expire_time, l.expire_time);
  EXPECT_EQ(got->update_time, now);
  EXPECT_EQ(got->error_message, l.error_message);
  EXPECT_EQ(CreateNow(store(1), l).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(GetNow(store(0), "nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RedisLinkStoreTest, KeysExpireAfterRetentionAndAttemptTtl) {
  const absl::Time now = absl::Now();
  ASSERT_TRUE(CreateNow(store(), TestLink("l1", now)).ok());
  absl::StatusOr<RedisReply> ttl = Call(client(), {"PTTL", ConnectKeyPrefix("test") + "link:l1"});
  ASSERT_TRUE(ttl.ok());
  // expire_time (1 h) + a day of retention.
  EXPECT_GT(ttl->integer, absl::ToInt64Milliseconds(absl::Hours(24) + absl::Minutes(59)));
  EXPECT_LE(ttl->integer, absl::ToInt64Milliseconds(absl::Hours(25)));

  ASSERT_TRUE(PutNow(store(), TestAttempt("h1", "l1", now + absl::Minutes(15))).ok());
  ttl = Call(client(), {"PTTL", ConnectKeyPrefix("test") + "attempt:h1"});
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl->integer, absl::ToInt64Milliseconds(absl::Minutes(14)));
  EXPECT_LE(ttl->integer, absl::ToInt64Milliseconds(absl::Minutes(15)));

  // An attempt whose time is up is gone from Redis itself.
  ASSERT_TRUE(PutNow(store(), TestAttempt("h2", "l1", absl::Now() + absl::Milliseconds(50))).ok());
  ASSERT_TRUE(WaitUntil(
      [&] { return TakeNow(store(), "h2").status().code() == absl::StatusCode::kNotFound; }));
}

TEST_F(RedisLinkStoreTest, UpdateNeverLeavesConnectedAndOneRacerWins) {
  ASSERT_TRUE(CreateNow(store(), TestLink("l1", absl::Now())).ok());
  LinkUpdate denied{LinkState::kDenied, absl::Now(), "CONNECT_CONSENT_DENIED", "no", ""};
  absl::StatusOr<ConnectLink> u = UpdateNow(store(1), "l1", denied);
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->state, LinkState::kDenied);
  EXPECT_EQ(u->return_url, "https://a.example/app");

  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      LinkUpdate c{LinkState::kConnected, absl::Now(), "", "", absl::StrCat("cred-", i)};
      if (UpdateNow(store(i % 2), "l1", c).ok()) ++wins;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(UpdateNow(store(), "l1", denied).status().code(),
            absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<ConnectLink> now = GetNow(store(), "l1");
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->state, LinkState::kConnected);
  EXPECT_EQ(now->error_reason, "");
  EXPECT_EQ(UpdateNow(store(), "nope", denied).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RedisLinkStoreTest, AttemptsAreTakenOnceAcrossReplicas) {
  ASSERT_TRUE(PutNow(store(), TestAttempt("h1", "l1", absl::Now() + absl::Minutes(15))).ok());
  EXPECT_EQ(PutNow(store(1), TestAttempt("h1", "l2", absl::Now() + absl::Minutes(15))).code(),
            absl::StatusCode::kAlreadyExists);
  std::atomic<int> got{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      absl::StatusOr<Attempt> a = TakeNow(store(i % 2), "h1");
      if (a.ok()) {
        ++got;
        EXPECT_EQ(a->link_id, "l1");
        EXPECT_EQ(a->binding_hash, "binding-h1");
        EXPECT_EQ(a->pkce_verifier.Reveal(), "verifier-h1");
        EXPECT_EQ(a->state_hash, "h1");
      } else {
        EXPECT_EQ(a.status().code(), absl::StatusCode::kNotFound);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(got.load(), 1);
}

TEST_F(RedisLinkStoreTest, ABadFleetNameRefusesEverything) {
  for (const char* name : {"", "a{b", "a}b"}) {
    RedisLinkStore bad(&client(), name);
    EXPECT_EQ(GetNow(bad, "l1").status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(CreateNow(bad, TestLink("l1", absl::Now())).code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(TakeNow(bad, "h").status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST_F(RedisLinkStoreTest, SurvivesScriptFlush) {
  ASSERT_TRUE(PutNow(store(), TestAttempt("h1", "l1", absl::Now() + absl::Minutes(15))).ok());
  ASSERT_TRUE(Call(client(), {"SCRIPT", "FLUSH"}).ok());
  EXPECT_TRUE(TakeNow(store(), "h1").ok());
}

TEST_F(RedisLinkStoreTest, RedisDownIsUnavailableAtOnce) {
  server_.Kill();
  ASSERT_TRUE(WaitUntil([&] { return !client().up(); }));
  const absl::Time start = absl::Now();
  EXPECT_EQ(GetNow(store(), "l1").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(CreateNow(store(), TestLink("l1", absl::Now())).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(TakeNow(store(), "h").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(PutNow(store(), TestAttempt("h", "l", absl::Now() + absl::Minutes(1))).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(UpdateNow(store(), "l1", LinkUpdate{}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(RedisLinkStoreTest, StalledRedisTimesOutAsUnavailable) {
  server_.Pause();
  const absl::Time start = absl::Now();
  EXPECT_EQ(GetNow(store(), "l1").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  server_.Resume();
}

}  // namespace
}  // namespace leafsvc::connect
