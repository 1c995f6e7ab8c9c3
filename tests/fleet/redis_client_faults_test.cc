// The Redis client when Redis fails: killed (SIGKILL), paused (SIGSTOP),
// absent at start, restarted on the same port; per-command deadlines; a
// flood. Bounds are generous upper bounds (a hang, not a slow machine, fails
// them); the figures are printed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/fleet/redis_client.h"
#include "tests/fleet/redis_harness.h"
#include "tests/support/redis_server.h"

namespace leafsvc::fleet {
namespace {

using ::leafsvc::fleet::testing::Call;
using ::leafsvc::fleet::testing::NewClient;
using ::leafsvc::fleet::testing::OptionsFor;
using ::leafsvc::fleet::testing::Result;
using ::leafsvc::fleet::testing::StateLog;
using ::leafsvc::testing::RedisServer;

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

TEST(RedisClientFaultsTest, KilledThenRestartedOnTheSamePort) {
  SKIP_WITHOUT_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  StateLog states;
  RedisClientOptions options = OptionsFor(server);
  options.command_timeout = absl::Seconds(20);
  auto client = NewClient(options, &states);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(states.WaitFor(true));
  ASSERT_EQ(*Call(*client, {"SET", "k", "before"}), RedisReply::Status("OK"));

  // In flight when Redis dies: blocking pops that would wait 10 s.
  std::vector<std::unique_ptr<Result>> blocked;
  for (int i = 0; i < 5; ++i) {
    blocked.push_back(std::make_unique<Result>());
    client->Command({"BLPOP", absl::StrCat("nothing", i), "10"}, blocked.back()->Callback());
  }
  ASSERT_TRUE(testing::WaitUntil([&] { return client->pending() == 5; }));
  absl::SleepFor(absl::Milliseconds(50));  // let them reach Redis
  const absl::Time killed = absl::Now();
  server.Kill();
  for (auto& r : blocked) {
    ASSERT_TRUE(r->Wait());
    EXPECT_EQ(r->get().status().code(), absl::StatusCode::kUnavailable) << r->get().status();
    EXPECT_NE(r->get().status().message().find("unreachable"), absl::string_view::npos);
  }
  const absl::Duration failed_after = blocked.back()->at() - killed;
  std::printf("killed: in-flight commands failed after %.1f ms\n", Ms(failed_after));
  EXPECT_LT(failed_after, absl::Seconds(5));
  ASSERT_TRUE(states.WaitFor(false, 2));
  EXPECT_FALSE(client->up());

  // Down: fail fast, nothing queued.
  for (int i = 0; i < 20; ++i) {
    const absl::Time t0 = absl::Now();
    absl::StatusOr<RedisReply> r = Call(*client, {"GET", "k"});
    const absl::Duration took = absl::Now() - t0;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
    EXPECT_LT(took, absl::Seconds(2)) << "fail fast, not after the 20 s command timeout";
    if (i == 0) std::printf("down: a command failed after %.2f ms\n", Ms(took));
  }
  EXPECT_EQ(client->pending(), 0u);

  // Back on the same port: the same client reconnects by itself.
  const absl::Time restarted = absl::Now();
  ASSERT_TRUE(server.Restart().ok());
  ASSERT_TRUE(states.WaitFor(true, 3));
  std::printf("restarted: up again %.1f ms after the restart began\n", Ms(absl::Now() - restarted));
  EXPECT_TRUE(client->up());
  EXPECT_EQ(*Call(*client, {"GET", "k"}), RedisReply::Nil());  // no persistence
  EXPECT_EQ(*Call(*client, {"SET", "k", "after"}), RedisReply::Status("OK"));
  EXPECT_EQ(*Call(*client, {"GET", "k"}), RedisReply::String("after"));
  EXPECT_EQ(states.states(), (std::vector<bool>{true, false, true}));
}

TEST(RedisClientFaultsTest, StartsDownAndComesUpWhenRedisAppears) {
  SKIP_WITHOUT_REDIS();
  RedisServer server;  // not started: nothing listens on its port
  StateLog states;
  auto client = NewClient(OptionsFor(server), &states);
  ASSERT_NE(client, nullptr);
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_FALSE(client->up());
  absl::StatusOr<RedisReply> r = Call(*client, {"PING"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("Redis is unreachable"), absl::string_view::npos)
      << r.status();
  EXPECT_TRUE(states.states().empty());
  ASSERT_TRUE(server.Start().ok());
  ASSERT_TRUE(states.WaitFor(true));
  EXPECT_EQ(*Call(*client, {"PING"}), RedisReply::Status("PONG"));
}

// Paused: commands time out within a bounded wait; the connection is
// suspect and reopened; after SIGCONT every callback gets its own key.
TEST(RedisClientFaultsTest, PausedCommandsTimeOutAndRecover) {
  SKIP_WITHOUT_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  StateLog states;
  RedisClientOptions options = OptionsFor(server);
  options.command_timeout = absl::Milliseconds(300);
  options.connect_timeout = absl::Milliseconds(300);
  auto client = NewClient(options, &states);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(states.WaitFor(true));
  for (const char* k : {"a", "b", "c", "d"}) {
    ASSERT_EQ(*Call(*client, {"SET", k, absl::StrCat("value-", k)}), RedisReply::Status("OK"));
  }

  server.Pause();
  std::vector<std::unique_ptr<Result>> paused;
  const absl::Time sent = absl::Now();
  for (const char* k : {"a", "b"}) {
    paused.push_back(std::make_unique<Result>());
    client->Command({"GET", k}, paused.back()->Callback());
  }
  for (auto& r : paused) {
    ASSERT_TRUE(r->Wait());
    EXPECT_EQ(r->get().status().code(), absl::StatusCode::kDeadlineExceeded) << r->get().status();
    const absl::Duration after = r->at() - sent;
    std::printf("paused: DEADLINE_EXCEEDED after %.1f ms (timeout 300 ms)\n", Ms(after));
    EXPECT_GE(after, absl::Milliseconds(290));
    EXPECT_LT(after, absl::Milliseconds(1500)) << "5x the command timeout";
  }
  ASSERT_TRUE(states.WaitFor(false, 2));
  EXPECT_FALSE(client->up());
  // While it is paused (reconnects time out in their handshake), commands
  // fail fast.
  const absl::Time t0 = absl::Now();
  absl::StatusOr<RedisReply> r = Call(*client, {"GET", "c"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_LT(absl::Now() - t0, absl::Milliseconds(300));
  absl::SleepFor(absl::Milliseconds(700));  // a few reconnect attempts

  server.Resume();
  ASSERT_TRUE(states.WaitFor(true, 3));
  std::vector<std::unique_ptr<Result>> after;
  for (const char* k : {"a", "b", "c", "d"}) {
    after.push_back(std::make_unique<Result>());
    client->Command({"GET", k}, after.back()->Callback());
  }
  int i = 0;
  for (const char* k : {"a", "b", "c", "d"}) {
    ASSERT_TRUE(after[i]->Wait());
    EXPECT_EQ(*after[i]->get(), RedisReply::String(absl::StrCat("value-", k)));
    ++i;
  }
  for (auto& p : paused) EXPECT_EQ(p->calls(), 1);
}

// A command times out while a later one (with a longer deadline) is still
// on the same connection; when Redis answers both, the late reply is
// dropped and the later command gets its own value, never the other's.
TEST(RedisClientFaultsTest, LateReplyNeverReachesAnotherCommand) {
  SKIP_WITHOUT_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  StateLog states;
  RedisClientOptions options = OptionsFor(server);
  options.command_timeout = absl::Milliseconds(200);
  auto client = NewClient(options, &states);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(states.WaitFor(true));
  ASSERT_EQ(*Call(*client, {"SET", "x", "value-x"}), RedisReply::Status("OK"));
  ASSERT_EQ(*Call(*client, {"SET", "y", "value-y"}), RedisReply::Status("OK"));

  server.Pause();
  Result x, y;
  client->Command({"GET", "x"}, x.Callback());                     // 200 ms
  client->Command({"GET", "y"}, absl::Seconds(20), y.Callback());  // 20 s
  ASSERT_TRUE(x.Wait());
  EXPECT_EQ(x.get().status().code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(states.WaitFor(false, 2));
  // Suspect: new commands are refused while y drains.
  EXPECT_EQ(Call(*client, {"GET", "x"}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(y.calls(), 0);
  server.Resume();  // Redis now answers GET x (late, dropped) then GET y
  ASSERT_TRUE(y.Wait());
  ASSERT_TRUE(y.get().ok()) << y.get().status();
  EXPECT_EQ(*y.get(), RedisReply::String("value-y"));
  EXPECT_EQ(x.calls(), 1);
  ASSERT_TRUE(states.WaitFor(true, 3));  // then reopened
  EXPECT_EQ(*Call(*client, {"GET", "x"}), RedisReply::String("value-x"));
}

// A blocking command gets its own, longer deadline.
TEST(RedisClientFaultsTest, PerCommandTimeoutForBlockingCommands) {
  SKIP_WITHOUT_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  StateLog states;
  RedisClientOptions options = OptionsFor(server);
  options.command_timeout = absl::Milliseconds(300);
  auto client = NewClient(options, &states);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(states.WaitFor(true));
  const absl::Time t0 = absl::Now();
  absl::StatusOr<RedisReply> r =
      Call(*client, {"XREAD", "BLOCK", "1000", "STREAMS", "s", "$"}, absl::Milliseconds(1500));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->is_nil()) << r->DebugString();
  EXPECT_GE(absl::Now() - t0, absl::Milliseconds(900));
  EXPECT_TRUE(client->up());
  EXPECT_EQ(states.states(), std::vector<bool>{true});

  // The default deadline is too short for it.
  absl::StatusOr<RedisReply> short_one =
      Call(*client, {"XREAD", "BLOCK", "1000", "STREAMS", "s", "$"});
  EXPECT_EQ(short_one.status().code(), absl::StatusCode::kDeadlineExceeded);
}

// A listener that accepts connections and closes them at once: every
// handshake fails, and the client's attempts are counted.
class SlammingListener {
 public:
  SlammingListener() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd_, 64);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 20) == 1) {
          const int c = accept(fd_, nullptr, nullptr);
          if (c >= 0) {
            close(c);
            accepted_.fetch_add(1);
          }
        }
      }
    });
  }
  ~SlammingListener() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  int port() const { return port_; }
  int accepted() const { return accepted_.load(); }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

TEST(RedisClientFaultsTest, DefaultBackoffIsFrom100MsTo5s) {
  RedisClientOptions o;
  EXPECT_EQ(o.min_reconnect_backoff, absl::Milliseconds(100));
  EXPECT_EQ(o.max_reconnect_backoff, absl::Seconds(5));
  EXPECT_EQ(o.command_timeout, absl::Milliseconds(500));
  EXPECT_EQ(o.max_pending, 10000u);
}

// Failed attempts back off exponentially (20, 40, 80, ... ms, each jittered
// to between half and all of it): a handful in a second, not hundreds; with
// a low cap they keep coming.
TEST(RedisClientFaultsTest, ReconnectsBackOffExponentiallyUpToTheCap) {
  for (const absl::Duration cap : {absl::Seconds(5), absl::Milliseconds(40)}) {
    SlammingListener listener;
    RedisClientOptions o;
    o.port = listener.port();
    o.min_reconnect_backoff = absl::Milliseconds(20);
    o.max_reconnect_backoff = cap;
    StateLog states;
    auto client = NewClient(o, &states);
    ASSERT_NE(client, nullptr);
    absl::SleepFor(absl::Seconds(1));
    const int attempts = listener.accepted();
    client.reset();
    std::printf("backoff: %d attempts in 1 s (min 20 ms, max %s)\n", attempts,
                absl::FormatDuration(cap).c_str());
    EXPECT_GE(attempts, 2);
    if (cap == absl::Seconds(5)) {
      // Sum of the shortest possible delays 10+20+40+80+160+320 ms > 600 ms.
      EXPECT_LE(attempts, 8);
    } else {
      EXPECT_GE(attempts, 5) << "the cap bounds each delay to 40 ms";
    }
    EXPECT_TRUE(states.states().empty());
  }
}

TEST(RedisClientFaultsTest, FloodOfPipelinedCommands) {
  SKIP_WITHOUT_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  StateLog states;
  RedisClientOptions options = OptionsFor(server);
  options.command_timeout = absl::Seconds(60);
  options.max_pending = 100000;
  auto client = NewClient(options, &states);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(states.WaitFor(true));
  constexpr int kCommands = 50000;
  std::atomic<int> ok{0}, done{0};
  std::atomic<int64_t> last{0};
  std::atomic<bool> ordered{true};
  const absl::Time start = absl::Now();
  for (int i = 0; i < kCommands; ++i) {
    client->Command({"INCR", "flood"}, [&](absl::StatusOr<RedisReply> r) {
      if (r.ok() && r->type == RedisReply::Type::kInteger) {
        ok.fetch_add(1);
        // One thread sends in order: replies count up one by one.
        if (r->integer != last.load() + 1) ordered = false;
        last = r->integer;
      }
      done.fetch_add(1);
    });
  }
  ASSERT_TRUE(testing::WaitUntil([&] { return done.load() == kCommands; }, absl::Seconds(120)));
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("flood: %d commands in %.3f s (%.0f ops/s)\n", kCommands, seconds,
              kCommands / seconds);
  EXPECT_EQ(ok.load(), kCommands);
  EXPECT_TRUE(ordered.load());
  EXPECT_EQ(*Call(*client, {"GET", "flood"}), RedisReply::String(absl::StrCat(kCommands)));
}

}  // namespace
}  // namespace leafsvc::fleet
