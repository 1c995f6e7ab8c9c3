// The fleet's Leaf budget in Redis: three limiters (three clients) on one
// real redis-server share one bucket, one 61 s cap and one 429 cooldown.
// Times come from Redis's clock (in the replies); bounds on the test's own
// clock are generous (a hang fails them, not a slow machine). The figures
// are printed.
#include "server/fleet/fleet_limiter.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
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
using Grant = FleetLimiter::Grant;

constexpr char kKeys[] = "agleader:budget:{leaf}:";

budget::RequestBudgetOptions Budget(double rpm, int burst) {
  budget::RequestBudgetOptions b;
  b.requests_per_minute = rpm;
  b.burst = burst;
  return b;
}

// Three replicas' limiters on one Redis (members destroyed in reverse:
// limiters, then clients, then Redis).
struct Fleet {
  explicit Fleet(budget::RequestBudgetOptions budget, int replicas = 3) {
    EXPECT_TRUE(server.Start().ok());
    for (int i = 0; i < replicas; ++i) {
      RedisClientOptions o = OptionsFor(server);
      o.command_timeout = absl::Seconds(5);
      absl::StatusOr<std::unique_ptr<RedisClient>> c = RedisClient::Create(o);
      EXPECT_TRUE(c.ok()) << c.status();
      clients.push_back(*std::move(c));
      EXPECT_TRUE(WaitUntil([&] { return clients.back()->up(); }));
      FleetLimiterOptions lo;
      lo.budget = budget;
      absl::StatusOr<std::unique_ptr<FleetLimiter>> l =
          FleetLimiter::Create(lo, clients.back().get());
      EXPECT_TRUE(l.ok()) << l.status();
      limiters.push_back(*std::move(l));
    }
  }
  FleetLimiter& operator[](int i) { return *limiters[i]; }
  RedisClient& raw() { return *clients[0]; }

  RedisServer server;
  std::vector<std::unique_ptr<RedisClient>> clients;
  std::vector<std::unique_ptr<FleetLimiter>> limiters;
};

absl::StatusOr<Grant> AcquireNow(FleetLimiter& l, int n) {
  auto p = std::make_shared<std::promise<absl::StatusOr<Grant>>>();
  std::future<absl::StatusOr<Grant>> f = p->get_future();
  l.Acquire(n, [p](absl::StatusOr<Grant> g) { p->set_value(std::move(g)); });
  if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    return absl::InternalError("no callback within 30 s");
  }
  return f.get();
}

absl::StatusOr<absl::Duration> RateLimitedNow(FleetLimiter& l,
                                              std::optional<absl::Duration> retry_after) {
  auto p = std::make_shared<std::promise<absl::StatusOr<absl::Duration>>>();
  std::future<absl::StatusOr<absl::Duration>> f = p->get_future();
  l.OnRateLimited(retry_after,
                  [p](absl::StatusOr<absl::Duration> d) { p->set_value(std::move(d)); });
  if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    return absl::InternalError("no callback within 30 s");
  }
  return f.get();
}

// Redis's clock, in whole seconds.
std::int64_t RedisSecond(RedisClient& c) {
  absl::StatusOr<RedisReply> r = Call(c, {"TIME"});
  EXPECT_TRUE(r.ok() && r->elements.size() == 2) << r.status();
  return std::stoll(r->elements[0].str);
}

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

TEST(FleetLimiterTest, RejectsBadOptionsAndInput) {
  RedisClientOptions o;
  o.port = 1;  // never reached: these fail before any command
  absl::StatusOr<std::unique_ptr<RedisClient>> client = RedisClient::Create(o);
  ASSERT_TRUE(client.ok());
  FleetLimiterOptions ok;
  EXPECT_EQ(FleetLimiter::Create(ok, nullptr).status().code(), absl::StatusCode::kInvalidArgument);
  auto bad = [&](auto mutate) {
    FleetLimiterOptions lo;
    mutate(lo);
    return FleetLimiter::Create(lo, client->get()).status();
  };
  EXPECT_EQ(bad([](auto& lo) { lo.budget.requests_per_minute = 0; }).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](auto& lo) { lo.budget.burst = 0; }).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](auto& lo) { lo.budget.rate_floor = 0; }).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](auto& lo) { lo.budget.max_cooldown = absl::Seconds(1); }).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](auto& lo) { lo.name = "a}b"; }).code(), absl::StatusCode::kInvalidArgument);

  absl::StatusOr<std::unique_ptr<FleetLimiter>> l = FleetLimiter::Create(ok, client->get());
  ASSERT_TRUE(l.ok());
  int calls = 0;
  (*l)->Acquire(0, [&](absl::StatusOr<Grant> g) {
    ++calls;
    EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  });
  (*l)->Acquire(1001, [&](absl::StatusOr<Grant> g) {
    ++calls;
    EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  });
  EXPECT_EQ(calls, 2);
  EXPECT_EQ((*l)->RatePerMinute(), 1000);

  // The fallback while Redis is unreachable: this replica's share.
  absl::StatusOr<budget::RequestBudgetOptions> share = (*l)->LocalShare(3);
  ASSERT_TRUE(share.ok());
  EXPECT_NEAR(share->requests_per_minute, 1000.0 / 3, 1e-9);
  EXPECT_EQ(share->burst, 6);
  EXPECT_EQ(share->first_cooldown, ok.budget.first_cooldown);
  EXPECT_EQ((*l)->LocalShare(100)->burst, 1);
  EXPECT_EQ((*l)->LocalShare(0).status().code(), absl::StatusCode::kInvalidArgument);
}

// Three limiters hammered from six threads for ~5 s at 600/min, burst 10:
// the fleet gets its burst plus 600/61 a second, not three times that.
TEST(FleetLimiterTest, ThreeReplicasShareOneBucket) {
  SKIP_WITHOUT_REDIS();
  constexpr double kRpm = 600;
  constexpr int kBurst = 10;
  Fleet fleet(Budget(kRpm, kBurst));

  std::mutex mu;
  std::vector<std::pair<absl::Time, int>> grants;  // Redis time, count
  std::vector<absl::Duration> latencies;
  std::atomic<int> errors{0};
  const absl::Time end = absl::Now() + absl::Milliseconds(5300);
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      while (absl::Now() < end) {
        const absl::Time t0 = absl::Now();
        absl::StatusOr<Grant> g = AcquireNow(fleet[t % 3], 2);
        const absl::Duration took = absl::Now() - t0;
        if (!g.ok()) {
          ++errors;
          continue;
        }
        {
          std::lock_guard<std::mutex> lock(mu);
          latencies.push_back(took);
          if (g->granted > 0) grants.emplace_back(g->redis_time, g->granted);
        }
        if (g->granted < 2) {
          absl::SleepFor(std::min(g->wait, absl::Milliseconds(10)));
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  ASSERT_FALSE(grants.empty());
  std::sort(grants.begin(), grants.end());
  const absl::Time t0 = grants.front().first;
  int in_five = 0, total = 0;
  for (const auto& [at, n] : grants) {
    total += n;
    if (at <= t0 + absl::Seconds(5)) in_five += n;
  }
  const double expected = kBurst + kRpm / 61.0 * 5;  // 59.2
  std::sort(latencies.begin(), latencies.end());
  const double span = absl::ToDoubleSeconds(grants.back().first - t0);
  std::printf(
      "fleet of 3 at %.0f/min burst %d: %d granted in the first 5 s (expected %.1f), %d in "
      "%.2f s (%.2f grants/s after the burst); %zu Acquire calls, latency p50 %.2f ms, p99 "
      "%.2f ms\n",
      kRpm, kBurst, in_five, expected, total, span, span > 0 ? (total - kBurst) / span : 0.0,
      latencies.size(), Ms(latencies[latencies.size() / 2]),
      Ms(latencies[latencies.size() * 99 / 100]));
  EXPECT_LE(in_five, static_cast<int>(expected) + 1);
  EXPECT_GE(in_five, static_cast<int>(expected) - 3);
  // Never more than the budget in any 61 s (all of it is within 61 s).
  EXPECT_LE(total, kRpm);
}

// A bucket alone would let its burst through; the 61 s cap does not.
TEST(FleetLimiterTest, CapsAnyWindowAtTheBudget) {
  SKIP_WITHOUT_REDIS();
  Fleet fleet(Budget(100, 1000));
  int total = 0;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Grant> g = AcquireNow(fleet[i], 1000);
    ASSERT_TRUE(g.ok()) << g.status();
    total += g->granted;
    if (i > 0) {
      EXPECT_EQ(g->granted, 0);
      // The cap frees up when the first grants' second leaves the window.
      EXPECT_GT(g->wait, absl::Seconds(60));
      EXPECT_LE(g->wait, absl::Seconds(62));
    }
  }
  EXPECT_EQ(total, 100);
}

TEST(FleetLimiterTest, SaysHowLongUntilTheNextToken) {
  SKIP_WITHOUT_REDIS();
  Fleet fleet(Budget(600, 2), 2);
  absl::StatusOr<Grant> g = AcquireNow(fleet[0], 5);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->granted, 2);
  // One token per 61 s / 600 = 101.7 ms, rounded up.
  EXPECT_EQ(g->wait, absl::Milliseconds(102));
  g = AcquireNow(fleet[1], 1);
  ASSERT_TRUE(g.ok()) << g.status();
  if (g->granted == 0) {
    EXPECT_GT(g->wait, absl::ZeroDuration());
    EXPECT_LE(g->wait, absl::Milliseconds(102));
  }
}

// The window is per-second counters of Redis time: seconds 61 s back still
// count (a 61 s span touches 62 of them), older ones are forgotten.
TEST(FleetLimiterTest, WindowSlidesOverSixtyTwoSeconds) {
  SKIP_WITHOUT_REDIS();
  Fleet fleet(Budget(100, 1000), 1);
  const std::string window = absl::StrCat(kKeys, "window");
  // Redis's second must not change between setting the counters and the
  // Acquire: tried again (from scratch) when it did.
  for (int attempt = 0; attempt < 5; ++attempt) {
    ASSERT_TRUE(Call(fleet.raw(), {"DEL", window, absl::StrCat(kKeys, "bucket")}).ok());
    const std::int64_t now = RedisSecond(fleet.raw());
    ASSERT_TRUE(Call(fleet.raw(),
                     {"HSET", window, absl::StrCat(now - 61), "60", absl::StrCat(now - 62), "1000"})
                    .ok());
    absl::StatusOr<Grant> g = AcquireNow(fleet[0], 1000);
    ASSERT_TRUE(g.ok()) << g.status();
    if (RedisSecond(fleet.raw()) != now) continue;
    EXPECT_EQ(g->granted, 40);
    EXPECT_GT(g->wait, absl::ZeroDuration());
    EXPECT_LE(g->wait, absl::Seconds(1));  // second now-61 leaves at now+1
    absl::StatusOr<RedisReply> stale =
        Call(fleet.raw(), {"HEXISTS", window, absl::StrCat(now - 62)});
    ASSERT_TRUE(stale.ok());
    EXPECT_EQ(stale->integer, 0) << "older seconds are deleted (bounded memory)";
    return;
  }
  FAIL() << "Redis's second changed during each of 5 attempts";
}

TEST(FleetLimiterTest, OneReplicasRateLimitPausesAll) {
  SKIP_WITHOUT_REDIS();
  Fleet fleet(Budget(600, 10));
  ASSERT_EQ(AcquireNow(fleet[1], 1)->granted, 1);
  const absl::Time t0 = absl::Now();
  absl::StatusOr<absl::Duration> pause = RateLimitedNow(fleet[0], std::nullopt);
  ASSERT_TRUE(pause.ok()) << pause.status();
  // 2 s, ±20%.
  EXPECT_GE(*pause, absl::Milliseconds(1600));
  EXPECT_LE(*pause, absl::Milliseconds(2400));
  EXPECT_EQ(fleet[0].RatePerMinute(), 300);
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Grant> g = AcquireNow(fleet[i], 5);
    const absl::Duration elapsed = absl::Now() - t0;
    ASSERT_TRUE(g.ok()) << g.status();
    EXPECT_EQ(g->granted, 0) << "replica " << i;
    EXPECT_LE(g->wait, *pause);
    EXPECT_GE(g->wait, *pause - elapsed - absl::Milliseconds(2));
    EXPECT_EQ(g->requests_per_minute, 300);
    EXPECT_EQ(fleet[i].RatePerMinute(), 300);
  }
}

TEST(FleetLimiterTest, RetryAfterIsHonouredExactlyAndOncePerPause) {
  SKIP_WITHOUT_REDIS();
  Fleet fleet(Budget(600, 10));
  const absl::Time t0 = absl::Now();
  absl::StatusOr<absl::Duration> pause = RateLimitedNow(fleet[0], absl::Seconds(3));
  ASSERT_TRUE(pause.ok()) << pause.status();
  EXPECT_EQ(*pause, absl::Seconds(3));
  absl::StatusOr<Grant> g = AcquireNow(fleet[2], 1);
  const absl::Duration elapsed = absl::Now() - t0;
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->granted, 0);
  EXPECT_LE(g->wait, absl::Seconds(3));
  EXPECT_GE(g->wait, absl::Seconds(3) - elapsed - absl::Milliseconds(2));

  // More 429s of the same burst: no second halving; a shorter Retry-After
  // does not shorten the pause, a longer one extends it.
  pause = RateLimitedNow(fleet[1], absl::Seconds(1));
  ASSERT_TRUE(pause.ok());
  EXPECT_GT(*pause, absl::Seconds(2));
  EXPECT_EQ(fleet[1].RatePerMinute(), 300);
  pause = RateLimitedNow(fleet[2], absl::Seconds(5));
  ASSERT_TRUE(pause.ok());
  EXPECT_EQ(*pause, absl::Seconds(5));
  EXPECT_EQ(fleet[2].RatePerMinute(), 300);
  absl::StatusOr<RedisReply> steps = Call(fleet.raw(), {"GET", absl::StrCat(kKeys, "steps")});
  ASSERT_TRUE(steps.ok());
  EXPECT_EQ(steps->str, "1");
}

TEST(FleetLimiterTest, CooldownDoublesPerPauseAndAnAnswerResetsIt) {
  SKIP_WITHOUT_REDIS();
  budget::RequestBudgetOptions b = Budget(600, 10);
  b.first_cooldown = absl::Milliseconds(100);
  b.max_cooldown = absl::Milliseconds(400);
  Fleet fleet(b, 4);
  const double expected[] = {100, 200, 400, 400};
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<absl::Duration> pause = RateLimitedNow(fleet[i % 3], std::nullopt);
    ASSERT_TRUE(pause.ok()) << pause.status();
    EXPECT_GE(Ms(*pause), expected[i] * 0.8 - 1) << "pause " << i;
    EXPECT_LE(Ms(*pause), expected[i] * 1.2) << "pause " << i;
    absl::SleepFor(*pause + absl::Milliseconds(20));
  }
  // The rate was halved once per pause (600 -> 300 -> ~150 -> ~75), down
  // to its floor (10%), not below.
  EXPECT_EQ(fleet[0].RatePerMinute(), 60);

  // Another replica's Acquire learns the steps are in force, so its next
  // answer resets them for the fleet.
  ASSERT_TRUE(AcquireNow(fleet[3], 1).ok());
  fleet[3].OnAnswered();
  EXPECT_TRUE(WaitUntil([&] {
    absl::StatusOr<RedisReply> r = Call(fleet.raw(), {"EXISTS", absl::StrCat(kKeys, "steps")});
    return r.ok() && r->integer == 0;
  }));
  absl::StatusOr<absl::Duration> pause = RateLimitedNow(fleet[1], std::nullopt);
  ASSERT_TRUE(pause.ok());
  EXPECT_LE(Ms(*pause), 120);
}

TEST(FleetLimiterTest, RateRecoversLinearlyAfterThePause) {
  SKIP_WITHOUT_REDIS();
  budget::RequestBudgetOptions b = Budget(600, 10);
  b.recovery_time = absl::Seconds(2);
  Fleet fleet(b);
  const absl::Time t0 = absl::Now();
  ASSERT_TRUE(RateLimitedNow(fleet[0], absl::Milliseconds(200)).ok());
  EXPECT_EQ(fleet[0].RatePerMinute(), 300);
  absl::SleepFor(absl::Milliseconds(250));
  // Nothing accrued during the pause: one token to probe Leaf, not a burst.
  absl::StatusOr<Grant> g = AcquireNow(fleet[1], 10);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->granted, 1);
  EXPECT_GT(g->requests_per_minute, 300);
  EXPECT_LT(g->requests_per_minute, 600);
  // 300 + 600 * t / 2 s: back to 600 one second after the pause.
  ASSERT_TRUE(WaitUntil([&] {
    absl::StatusOr<Grant> r = AcquireNow(fleet[2], 1);
    return r.ok() && r->requests_per_minute == 600;
  }));
  const absl::Duration took = absl::Now() - t0;
  std::printf("rate back to 600/min %.0f ms after the 429 (200 ms pause + 1 s)\n", Ms(took));
  EXPECT_GE(took, absl::Milliseconds(1150));
  EXPECT_EQ(fleet[2].RatePerMinute(), 600);
}

TEST(FleetLimiterTest, ReloadsTheScriptAfterScriptFlush) {
  SKIP_WITHOUT_REDIS();
  Fleet fleet(Budget(600, 10), 1);
  ASSERT_EQ(AcquireNow(fleet[0], 1)->granted, 1);
  EXPECT_EQ(fleet[0].script_loads(), 1);
  ASSERT_EQ(AcquireNow(fleet[0], 1)->granted, 1);
  EXPECT_EQ(fleet[0].script_loads(), 1);
  ASSERT_EQ(*Call(fleet.raw(), {"SCRIPT", "FLUSH"}), RedisReply::Status("OK"));
  absl::StatusOr<Grant> g = AcquireNow(fleet[0], 1);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->granted, 1);
  EXPECT_EQ(fleet[0].script_loads(), 2);
  ASSERT_TRUE(RateLimitedNow(fleet[0], absl::Milliseconds(10)).ok());
  EXPECT_EQ(fleet[0].script_loads(), 2);
}

TEST(FleetLimiterTest, RedisDownFailsFastThenRejoinsWithoutRecreating) {
  SKIP_WITHOUT_REDIS();
  Fleet fleet(Budget(600, 10), 2);
  ASSERT_EQ(AcquireNow(fleet[0], 1)->granted, 1);
  fleet.server.Kill();
  ASSERT_TRUE(WaitUntil([&] { return !fleet.clients[0]->up() && !fleet.clients[1]->up(); }));
  absl::Duration slowest;
  for (int i = 0; i < 20; ++i) {
    const absl::Time t0 = absl::Now();
    absl::StatusOr<Grant> g = AcquireNow(fleet[i % 2], 1);
    slowest = std::max(slowest, absl::Now() - t0);
    EXPECT_EQ(g.status().code(), absl::StatusCode::kUnavailable) << g.status();
  }
  EXPECT_EQ(RateLimitedNow(fleet[0], std::nullopt).status().code(), absl::StatusCode::kUnavailable);
  std::printf("Redis down: Acquire failed in at most %.2f ms\n", Ms(slowest));
  EXPECT_LT(slowest, absl::Seconds(1));

  ASSERT_TRUE(fleet.server.Restart().ok());
  ASSERT_TRUE(WaitUntil([&] { return fleet.clients[0]->up() && fleet.clients[1]->up(); }));
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<Grant> g = AcquireNow(fleet[i], 1);
    ASSERT_TRUE(g.ok()) << g.status();
    EXPECT_EQ(g->granted, 1);
  }
  // The restarted Redis had no script: loaded again.
  EXPECT_EQ(fleet[0].script_loads(), 2);
}

}  // namespace
}  // namespace leafsvc::fleet

namespace leafsvc::fleet {
namespace {

absl::StatusOr<budget::TokenSupply::Tokens> TakeNow(FleetLimiter& l, int n, bool background) {
  auto p = std::make_shared<std::promise<absl::StatusOr<budget::TokenSupply::Tokens>>>();
  auto f = p->get_future();
  l.Take(n, background,
         [p](absl::StatusOr<budget::TokenSupply::Tokens> t) { p->set_value(std::move(t)); });
  if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    return absl::InternalError("no callback within 30 s");
  }
  return f.get();
}

TEST(FleetLimiterTest, BackgroundWorkLeavesTheMinutesLastTenthToCallersOfEveryReplica) {
  // 100 a minute with a burst of 100: the minute's last 10 are callers'.
  Fleet fleet(Budget(100, 100), 2);
  absl::StatusOr<budget::TokenSupply::Tokens> bulk = TakeNow(fleet[0], 100, true);
  ASSERT_TRUE(bulk.ok()) << bulk.status();
  EXPECT_EQ(bulk->granted, 90);
  EXPECT_GT(bulk->wait, absl::Seconds(50)) << "background waits for the minute to roll over";
  absl::StatusOr<budget::TokenSupply::Tokens> more = TakeNow(fleet[1], 5, true);
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(more->granted, 0);
  // A caller on the other replica still gets the reserve at once.
  absl::StatusOr<budget::TokenSupply::Tokens> caller = TakeNow(fleet[1], 10, false);
  ASSERT_TRUE(caller.ok());
  EXPECT_EQ(caller->granted, 10);
  EXPECT_DOUBLE_EQ(caller->requests_per_minute, 100);
}

}  // namespace
}  // namespace leafsvc::fleet
