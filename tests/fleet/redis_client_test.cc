// The Redis client against a real redis-server: replies, ordering and
// exactly-once callbacks under concurrency, limits, AUTH and SELECT, and
// destruction with commands in flight. Faults: redis_client_faults_test.
#include "server/fleet/redis_client.h"

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/observability/log.h"
#include "tests/fleet/redis_harness.h"
#include "tests/support/redis_server.h"

namespace leafsvc::fleet {
namespace {

using ::leafsvc::fleet::testing::Call;
using ::leafsvc::fleet::testing::OptionsFor;
using ::leafsvc::fleet::testing::Result;
using ::leafsvc::fleet::testing::StateLog;
using ::leafsvc::fleet::testing::UpClient;
using ::leafsvc::testing::RedisServer;

TEST(RedisClientTest, RepliesOfEveryType) {
  SKIP_WITHOUT_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  StateLog states;
  auto client = UpClient(OptionsFor(server), &states);
  ASSERT_NE(client, nullptr);
  EXPECT_TRUE(client->up());

  EXPECT_EQ(*Call(*client, {"PING"}), RedisReply::Status("PONG"));
  EXPECT_EQ(*Call(*client, {"SET", "k", std::string("v\0w", 3)}), RedisReply::Status("OK"));
  EXPECT_EQ(*Call(*client, {"GET", "k"}), RedisReply::String(std::string("v\0w", 3)));
  EXPECT_EQ(*Call(*client, {"GET", "missing"}), RedisReply::Nil());
  EXPECT_EQ(*Call(*client, {"INCR", "n"}), RedisReply::Integer(1));
  EXPECT_EQ(*Call(*client, {"INCRBY", "n", "-5"}), RedisReply::Integer(-4));
  EXPECT_EQ(*Call(*client, {"EVAL", "return {1, 'a', false, {'b'}}", "0"}),
            RedisReply::Array({RedisReply::Integer(1), RedisReply::String("a"), RedisReply::Nil(),
                               RedisReply::Array({RedisReply::String("b")})}));
  // A Redis error is a reply, not a failed status.
  absl::StatusOr<RedisReply> wrong = Call(*client, {"LPUSH", "k", "x"});
  ASSERT_TRUE(wrong.ok()) << wrong.status();
  EXPECT_TRUE(wrong->is_error());
  EXPECT_EQ(wrong->str.rfind("WRONGTYPE", 0), 0u) << wrong->str;
  EXPECT_TRUE(Call(*client, {"NOSUCHCOMMAND"})->is_error());
  EXPECT_EQ(client->pending(), 0u);
  EXPECT_EQ(states.states(), std::vector<bool>{true});
}

TEST(RedisClientTest, CallbacksRunOnTheLoopThreadNeverInline) {
  SKIP_WITHOUT_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  StateLog states;
  auto client = UpClient(OptionsFor(server), &states);
  ASSERT_NE(client, nullptr);
  // Up, a reply; invalid, failed before sending; both asynchronous.
  Result up, invalid;
  client->Command({"PING"}, up.Callback());
  client->Command({}, invalid.Callback());
  ASSERT_TRUE(up.Wait());
  ASSERT_TRUE(invalid.Wait());
  EXPECT_NE(up.thread(), std::this_thread::get_id());
  EXPECT_NE(invalid.thread(), std::this_thread::get_id());
  EXPECT_EQ(invalid.get().status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<RedisReply> zero = Call(*client, {"PING"}, absl::ZeroDuration());
  EXPECT_EQ(zero.status().code(), absl::StatusCode::kInvalidArgument);

  // A callback may send the next command.
  Result second;
  Result first;
  auto first_done = first.Callback();
  client->Command({"INCR", "chain"}, [&, first_done](absl::StatusOr<RedisReply> r) {
    client->Command({"INCR", "chain"}, second.Callback());
    first_done(std::move(r));
  });
  ASSERT_TRUE(second.Wait());
  EXPECT_EQ(*second.get(), RedisReply::Integer(2));
}

TEST(RedisClientTest, CreateRejectsBadOptions) {
  auto bad = [](auto mutate) {
    RedisClientOptions o;
    mutate(o);
    absl::StatusOr<std::unique_ptr<RedisClient>> c = RedisClient::Create(std::move(o));
    return c.ok() ? absl::StatusCode::kOk : c.status().code();
  };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(bad([](RedisClientOptions& o) { o.host = ""; }), kInvalid);
  EXPECT_EQ(bad([](RedisClientOptions& o) { o.port = 0; }), kInvalid);
  EXPECT_EQ(bad([](RedisClientOptions& o) { o.port = 70000; }), kInvalid);
  EXPECT_EQ(bad([](RedisClientOptions& o) { o.db = -1; }), kInvalid);
  EXPECT_EQ(bad([](RedisClientOptions& o) { o.command_timeout = absl::ZeroDuration(); }), kInvalid);
  EXPECT_EQ(bad([](RedisClientOptions& o) { o.connect_timeout = -absl::Seconds(1); }), kInvalid);
  EXPECT_EQ(bad([](RedisClientOptions& o) { o.min_reconnect_backoff = absl::ZeroDuration(); }),
            kInvalid);
  EXPECT_EQ(bad([](RedisClientOptions& o) {
              o.min_reconnect_backoff = absl::Seconds(2);
              o.max_reconnect_backoff = absl::Seconds(1);
            }),
            kInvalid);
  EXPECT_EQ(bad([](RedisClientOptions& o) { o.max_pending = 0; }), kInvalid);
}

// Several threads INCR keys of their own: every callback runs once, with the
// reply to its own command (values rise in each thread's sending order).
TEST(RedisClientTest, ConcurrentCommandsEachGetTheirOwnReply) {
  SKIP_WITHOUT_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  StateLog states;
  RedisClientOptions options = OptionsFor(server);
  options.command_timeout = absl::Seconds(30);
  auto client = UpClient(options, &states);
  ASSERT_NE(client, nullptr);

  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::mutex mu;
  std::vector<std::vector<int64_t>> got(kThreads, std::vector<int64_t>(kPerThread, 0));
  std::vector<std::vector<int>> calls(kThreads, std::vector<int>(kPerThread, 0));
  std::atomic<int> done{0};
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Odd commands add 0 via INCRBY, so a swapped reply would show.
        std::vector<std::string> argv =
            i % 2 == 0 ? std::vector<std::string>{"INCR", absl::StrCat("ctr:", t)}
                       : std::vector<std::string>{"INCRBY", absl::StrCat("ctr:", t), "1000"};
        client->Command(std::move(argv), [&, t, i](absl::StatusOr<RedisReply> r) {
          std::lock_guard<std::mutex> lock(mu);
          ++calls[t][i];
          got[t][i] = r.ok() && r->type == RedisReply::Type::kInteger ? r->integer : -1;
          done.fetch_add(1);
        });
      }
    });
  }
  for (std::thread& th : threads) th.join();
  ASSERT_TRUE(testing::WaitUntil([&] { return done.load() >= kThreads * kPerThread; }));
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("concurrent: %d commands from %d threads in %.3f s (%.0f ops/s)\n",
              kThreads * kPerThread, kThreads, seconds, kThreads * kPerThread / seconds);
  std::lock_guard<std::mutex> lock(mu);
  for (int t = 0; t < kThreads; ++t) {
    int64_t expect = 0;
    for (int i = 0; i < kPerThread; ++i) {
      expect += i % 2 == 0 ? 1 : 1000;
      ASSERT_EQ(calls[t][i], 1) << "thread " << t << " command " << i;
      ASSERT_EQ(got[t][i], expect) << "thread " << t << " command " << i;
    }
  }
  EXPECT_EQ(client->pending(), 0u);
}

// Beyond max_pending commands in flight, Command fails fast (and
// asynchronously) with RESOURCE_EXHAUSTED; the others still complete.
TEST(RedisClientTest, MaxPendingBoundsCommandsInFlight) {
  SKIP_WITHOUT_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  StateLog states;
  RedisClientOptions options = OptionsFor(server);
  options.max_pending = 10;
  options.command_timeout = absl::Seconds(30);
  auto client = UpClient(options, &states);
  ASSERT_NE(client, nullptr);
  server.Pause();  // nothing answers: the first 10 stay in flight
  std::vector<std::unique_ptr<Result>> results;
  for (int i = 0; i < 10; ++i) {
    results.push_back(std::make_unique<Result>());
    client->Command({"PING"}, results.back()->Callback());
  }
  EXPECT_EQ(client->pending(), 10u);
  Result over;
  client->Command({"PING"}, over.Callback());
  ASSERT_TRUE(over.Wait());
  EXPECT_EQ(over.get().status().code(), absl::StatusCode::kResourceExhausted)
      << over.get().status();
  server.Resume();
  for (auto& r : results) {
    ASSERT_TRUE(r->Wait());
    EXPECT_EQ(*r->get(), RedisReply::Status("PONG"));
  }
  EXPECT_EQ(client->pending(), 0u);
}

TEST(RedisClientTest, SelectsTheDatabase) {
  SKIP_WITHOUT_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  StateLog states0, states3;
  RedisClientOptions o3 = OptionsFor(server);
  o3.db = 3;
  auto db3 = UpClient(o3, &states3);
  auto db0 = UpClient(OptionsFor(server), &states0);
  ASSERT_NE(db3, nullptr);
  ASSERT_NE(db0, nullptr);
  ASSERT_EQ(*Call(*db3, {"SET", "where", "three"}), RedisReply::Status("OK"));
  EXPECT_EQ(*Call(*db3, {"GET", "where"}), RedisReply::String("three"));
  EXPECT_EQ(*Call(*db0, {"GET", "where"}), RedisReply::Nil());
  EXPECT_EQ(*Call(*db0, {"SELECT", "3"}), RedisReply::Status("OK"));
  EXPECT_EQ(*Call(*db0, {"GET", "where"}), RedisReply::String("three"));

  // A database Redis does not have keeps the client down, saying why.
  RedisClientOptions bad = OptionsFor(server);
  bad.db = 999;
  auto c = RedisClient::Create(bad);
  ASSERT_TRUE(c.ok());
  // Its first attempt may still be under way on a loaded machine: wait
  // (bounded) until the client has a reason to give, instead of a fixed sleep.
  absl::StatusOr<RedisReply> r = Call(**c, {"PING"});
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (r.status().message().find("SELECT") == absl::string_view::npos && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(20));
    r = Call(**c, {"PING"});
  }
  EXPECT_FALSE((*c)->up());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("SELECT"), absl::string_view::npos) << r.status();
}

TEST(RedisClientTest, PasswordRightWorksWrongStaysDownAndNeverShows) {
  SKIP_WITHOUT_REDIS();
  const std::string kPassword = "correct-horse-battery-9f3a";
  const std::string kWrong = "wrong-password-7c1d";
  RedisServer server({"--requirepass", kPassword});
  ASSERT_TRUE(server.Start().ok());
  std::mutex log_mu;
  std::vector<std::string> lines;
  SetLogSink([&](absl::string_view l) {
    std::lock_guard<std::mutex> lock(log_mu);
    lines.emplace_back(l);
  });

  StateLog states;
  RedisClientOptions right = OptionsFor(server);
  right.password = Secret(kPassword);
  auto client = UpClient(right, &states);
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(*Call(*client, {"SET", "a", "1"}), RedisReply::Status("OK"));

  std::vector<std::string> messages;
  for (const std::string* pw : {&kWrong, static_cast<const std::string*>(nullptr)}) {
    RedisClientOptions o = OptionsFor(server);
    if (pw != nullptr) o.password = Secret(*pw);
    StateLog never;
    o.on_state = never.Callback();
    auto c = RedisClient::Create(o);
    ASSERT_TRUE(c.ok());
    absl::SleepFor(absl::Milliseconds(500));  // several attempts
    EXPECT_FALSE((*c)->up());
    EXPECT_TRUE(never.states().empty());
    absl::StatusOr<RedisReply> r = Call(**c, {"GET", "a"});
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
    messages.emplace_back(r.status().message());
  }
  EXPECT_NE(messages[0].find("refused the password"), std::string::npos) << messages[0];
  EXPECT_NE(messages[1].find("NOAUTH"), std::string::npos) << messages[1];
  client.reset();
  SetLogSink(nullptr);
  std::lock_guard<std::mutex> lock(log_mu);
  EXPECT_FALSE(lines.empty());
  for (const std::string& text : messages) {
    EXPECT_EQ(text.find(kPassword), std::string::npos) << text;
    EXPECT_EQ(text.find(kWrong), std::string::npos) << text;
  }
  for (const std::string& l : lines) {
    EXPECT_EQ(l.find(kPassword), std::string::npos) << l;
    EXPECT_EQ(l.find(kWrong), std::string::npos) << l;
  }
}

// Destroying the client completes every pending command once, with
// CANCELLED, including commands its callbacks send meanwhile.
TEST(RedisClientTest, DestructorCompletesEveryPendingCommandOnce) {
  SKIP_WITHOUT_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  StateLog states;
  RedisClientOptions options = OptionsFor(server);
  options.command_timeout = absl::Seconds(30);
  auto client = UpClient(options, &states);
  ASSERT_NE(client, nullptr);
  server.Pause();
  constexpr int kCommands = 200;
  std::mutex mu;
  std::vector<int> calls(kCommands + 1, 0);
  std::vector<absl::StatusCode> codes(kCommands + 1, absl::StatusCode::kOk);
  RedisClient* raw = client.get();
  for (int i = 0; i < kCommands; ++i) {
    raw->Command({"GET", absl::StrCat("k", i)}, [&, i, raw](absl::StatusOr<RedisReply> r) {
      std::lock_guard<std::mutex> lock(mu);
      ++calls[i];
      codes[i] = r.status().code();
      if (i == 0) {
        raw->Command({"PING"}, [&](absl::StatusOr<RedisReply> r2) {
          std::lock_guard<std::mutex> lock2(mu);
          ++calls[kCommands];
          codes[kCommands] = r2.status().code();
        });
      }
    });
  }
  ASSERT_TRUE(testing::WaitUntil([&] { return raw->pending() == kCommands; }));
  client.reset();
  server.Resume();
  std::lock_guard<std::mutex> lock(mu);
  for (int i = 0; i <= kCommands; ++i) {
    EXPECT_EQ(calls[i], 1) << i;
    EXPECT_EQ(codes[i], absl::StatusCode::kCancelled) << i;
  }
  // No on_state(false) from a client being destroyed.
  EXPECT_EQ(states.states(), std::vector<bool>{true});
}

}  // namespace
}  // namespace leafsvc::fleet
