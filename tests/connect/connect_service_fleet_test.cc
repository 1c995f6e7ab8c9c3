// Two replicas sharing links through a real redis-server: a link created
// and started on one completes on the other, a replayed callback fails on
// either, and Redis being down answers UNAVAILABLE instead of hanging.
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/connect/connect_service.h"
#include "server/connect/redis_link_store.h"
#include "server/errors/status_details.h"
#include "server/fleet/redis_client.h"
#include "server/providers/agleader/agleader_spec.h"
#include "tests/leaf/fake_http_client.h"
#include "tests/leaf/test_token_sources.h"
#include "tests/support/redis_server.h"

namespace leafsvc::connect {
namespace {

using ::leafsvc::testing::CountingTokenSource;
using ::leafsvc::testing::FakeHttpClient;
using ::leafsvc::testing::RedisServer;

constexpr char kUser[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

template <typename T>
T Wait(std::future<T>& f) {
  EXPECT_EQ(f.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  return f.get();
}

std::string StateOf(const std::string& url) {
  size_t p = url.find("&state=") + 7;
  return url.substr(p, url.find('&', p) - p);
}

// One replica: its own Redis client, store, fakes and service.
struct Replica {
  explicit Replica(int port) {
    fleet::RedisClientOptions o;
    o.port = port;
    o.min_reconnect_backoff = absl::Milliseconds(20);
    o.max_reconnect_backoff = absl::Milliseconds(200);
    redis = *fleet::RedisClient::Create(o);
    store = std::make_unique<RedisLinkStore>(redis.get(), "fleet");
    leaf::LeafClientOptions lo;
    lo.retry.max_attempts = 1;
    leaf_client = std::make_unique<leaf::LeafClient>(
        &leaf_http, &tokens, leaf::LeafEndpoints("http://leaf", providers::AgLeaderSpec()), lo);
    ConnectOptions co;
    co.public_key = "pk";
    co.private_key = Secret("private-key-for-fleet");
    co.token_url = "http://127.0.0.1:1/token";
    co.public_url = "https://connect.example.com";
    service = std::make_unique<ConnectService>(co, store.get(), &agfiniti, leaf_client.get(),
                                               nullptr, nullptr);
  }

  absl::StatusOr<ConnectLink> Create() {
    auto p = std::make_shared<std::promise<absl::StatusOr<ConnectLink>>>();
    auto f = p->get_future();
    service->CreateLink(kUser, "", std::nullopt, [p](auto r) { p->set_value(std::move(r)); });
    return Wait(f);
  }
  absl::StatusOr<AttemptStart> Start(const std::string& id) {
    auto p = std::make_shared<std::promise<absl::StatusOr<AttemptStart>>>();
    auto f = p->get_future();
    service->StartAttempt(id, [p](auto r) { p->set_value(std::move(r)); });
    return Wait(f);
  }
  std::future<absl::StatusOr<ConnectLink>> Complete(CallbackParams params) {
    auto p = std::make_shared<std::promise<absl::StatusOr<ConnectLink>>>();
    service->Complete(std::move(params), [p](auto r) { p->set_value(std::move(r)); });
    return p->get_future();
  }
  // Waits until the fake has a pending request (callbacks arrive on the
  // Redis thread).
  static bool WaitPending(FakeHttpClient& http) {
    const absl::Time end = absl::Now() + absl::Seconds(30);
    while (http.pending() == 0) {
      if (absl::Now() > end) return false;
      absl::SleepFor(absl::Milliseconds(2));
    }
    return true;
  }

  std::unique_ptr<fleet::RedisClient> redis;
  std::unique_ptr<RedisLinkStore> store;
  FakeHttpClient agfiniti;
  FakeHttpClient leaf_http;
  CountingTokenSource tokens;
  std::unique_ptr<leaf::LeafClient> leaf_client;
  std::unique_ptr<ConnectService> service;
};

class ConnectServiceFleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::Available()) GTEST_SKIP() << "redis-server is missing";
    ASSERT_TRUE(server_.Start().ok());
    a_ = std::make_unique<Replica>(server_.port());
    b_ = std::make_unique<Replica>(server_.port());
    const absl::Time end = absl::Now() + absl::Seconds(30);
    while (!(a_->redis->up() && b_->redis->up()) && absl::Now() < end) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    ASSERT_TRUE(a_->redis->up() && b_->redis->up());
  }

  RedisServer server_;
  std::unique_ptr<Replica> a_;
  std::unique_ptr<Replica> b_;
};

TEST_F(ConnectServiceFleetTest, ACallbackCompletesOnAnotherReplicaOnce) {
  absl::StatusOr<ConnectLink> link = a_->Create();
  ASSERT_TRUE(link.ok()) << link.status();
  absl::StatusOr<AttemptStart> start = a_->Start(link->id);
  ASSERT_TRUE(start.ok()) << start.status();
  CallbackParams params;
  params.state = StateOf(start->authorize_url);
  params.code = "fleet-code";
  params.browser_binding = start->browser_binding;

  auto done = b_->Complete(params);
  ASSERT_TRUE(Replica::WaitPending(b_->agfiniti));
  ASSERT_TRUE(b_->agfiniti.Respond(200, R"({"refresh_token":"fleet-refresh"})"));
  ASSERT_TRUE(Replica::WaitPending(b_->leaf_http));
  EXPECT_TRUE(absl::StrContains(b_->leaf_http.requests().at(0).body, "fleet-refresh"));
  ASSERT_TRUE(b_->leaf_http.Respond(201, R"({"id":"cred-9","status":"OK"})"));
  absl::StatusOr<ConnectLink> connected = Wait(done);
  ASSERT_TRUE(connected.ok()) << connected.status();
  EXPECT_EQ(connected->state, LinkState::kConnected);
  EXPECT_EQ(connected->credentials_id, "cred-9");

  // Replayed on either replica: refused, nothing sent.
  for (Replica* r : {a_.get(), b_.get()}) {
    auto again = r->Complete(params);
    absl::StatusOr<ConnectLink> replay = Wait(again);
    EXPECT_EQ(GetStatusDetails(replay.status()).reason, "CONNECT_STATE_INVALID");
  }
  EXPECT_EQ(a_->agfiniti.requests().size(), 0u);
  EXPECT_EQ(b_->agfiniti.requests().size(), 1u);
  EXPECT_EQ(GetStatusDetails(a_->Start(link->id).status()).reason, "CONNECT_LINK_ALREADY_USED");
}

TEST_F(ConnectServiceFleetTest, RedisDownIsUnavailableNotAHang) {
  absl::StatusOr<ConnectLink> link = a_->Create();
  ASSERT_TRUE(link.ok());
  server_.Kill();
  const absl::Time end = absl::Now() + absl::Seconds(30);
  while (a_->redis->up() && absl::Now() < end) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(a_->Create().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(a_->Start(link->id).status().code(), absl::StatusCode::kUnavailable);
  CallbackParams params;
  params.state = std::string(43, 'a');
  params.code = "c";
  params.browser_binding = std::string(43, 'b');
  auto done = a_->Complete(params);
  EXPECT_EQ(Wait(done).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace leafsvc::connect
