// One Leaf budget for the fleet, through the real stack: three replicas
// (Apps in fleet mode), one real Redis, one emulator. Callers hammer every
// replica at once and Leaf sees no more than the ONE budget allows (three
// replicas each spending their own would send three times as much); a 429
// seen by one replica pauses the others before they send anything; with
// Redis gone each replica spends only its share (rpm / --fleet_size_hint).
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/fleet_harness.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr int kReplicas = 3;

class FleetBudgetTest : public ::testing::Test {
 protected:
  void Start(double rpm, int burst) {
    if (!RedisServer::Available()) GTEST_SKIP() << "no redis-server on this machine";
    auto f = FleetHarness::Start(kReplicas, [rpm, burst](int, ServerConfig& c) {
      c.leaf_budget.requests_per_minute = rpm;
      c.leaf_budget.burst = burst;
    });
    ASSERT_TRUE(f.ok()) << f.status();
    fleet_ = *std::move(f);
    ASSERT_TRUE(WaitFor([&] {
      for (int i = 0; i < kReplicas; ++i) {
        if (!fleet_->RedisUp(i)) return false;
      }
      return true;
    }));
  }

  // `threads` callers per replica call GetCredentials until `until`;
  // returns how many calls succeeded.
  int Hammer(int threads, absl::Time until) {
    std::atomic<int> ok{0};
    std::vector<std::thread> callers;
    for (int r = 0; r < kReplicas; ++r) {
      for (int t = 0; t < threads; ++t) {
        callers.emplace_back([&, r] {
          while (absl::Now() < until) {
            v1::GetCredentialsRequest get;
            get.set_leaf_user_id(kUserA);
            v1::Credentials out;
            if (fleet_->stub(r)
                    .GetCredentials(Harness::Context(absl::Seconds(2)).get(), get, &out)
                    .ok()) {
              ++ok;
            } else {
              absl::SleepFor(absl::Milliseconds(20));
            }
          }
        });
      }
    }
    for (std::thread& t : callers) t.join();
    return ok.load();
  }

  int LeafReads() { return fleet_->emulator().CountRequests("GET", "-credentials"); }

  std::unique_ptr<FleetHarness> fleet_;
};

TEST_F(FleetBudgetTest, ThreeReplicasTogetherStayWithinOneBudget) {
  Start(/*rpm=*/120, /*burst=*/5);
  fleet_->Create(kUserA);
  fleet_->emulator().ClearRequests();
  const absl::Time start = absl::Now();
  const int ok = Hammer(/*threads=*/3, start + absl::Seconds(10));
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const int reads = LeafReads();
  // One budget: a burst, then 120 a minute (2/s, accrued over 61 s).
  const double allowed = 5 + 120.0 / 61 * seconds + 2;
  std::printf(
      "fleet of %d: %d Leaf reads in %.1f s (one budget allows %.0f; three would allow "
      "%.0f); %d calls OK\n",
      kReplicas, reads, seconds, allowed, allowed * kReplicas, ok);
  EXPECT_LE(reads, allowed) << "the replicas spent more than one budget";
  EXPECT_GE(reads, 10) << "the fleet hardly served anyone";
  EXPECT_GE(ok, 10);
  EXPECT_EQ(fleet_->emulator().RateLimitCounters().rate_limited_count, 0);
}

TEST_F(FleetBudgetTest, A429SeenByOneReplicaPausesTheOthers) {
  Start(/*rpm=*/6000, /*burst=*/50);
  fleet_->Create(kUserA);
  // Leaf allows only 3 more requests, then answers 429 with Retry-After 4 s.
  leafemu::RateLimitConfig limit;
  limit.per_minute = 3;
  limit.retry_after_seconds = 4;
  fleet_->emulator().Reset();
  fleet_->emulator().SetRateLimit(limit);
  fleet_->Create(kUserA);
  v1::GetCredentialsRequest get;
  get.set_leaf_user_id(kUserA);
  v1::Credentials out;
  grpc::Status last;
  for (int i = 0; i < 10 && fleet_->emulator().RateLimitCounters().rate_limited_count == 0; ++i) {
    last = fleet_->stub(0).GetCredentials(Harness::Context().get(), get, &out);
  }
  ASSERT_GE(fleet_->emulator().RateLimitCounters().rate_limited_count, 1);
  // Leaf would answer again now: only the fleet's pause can stop replica 2.
  fleet_->emulator().SetRateLimit({});
  absl::SleepFor(absl::Milliseconds(200));  // the 429 reaches Redis
  const int before = LeafReads();
  grpc::Status st =
      fleet_->stub(2).GetCredentials(Harness::Context(absl::Seconds(1)).get(), get, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_EQ(ErrorInfoOf(st).reason(), "LEAF_RATE_LIMITED");
  int64_t delay_ms = 0;
  EXPECT_TRUE(RetryInfoOf(st, &delay_ms));
  EXPECT_GT(delay_ms, 1000);
  EXPECT_EQ(LeafReads(), before) << "replica 2 sent a request during the fleet's pause";
  // After the pause, replica 2 is served again.
  absl::SleepFor(absl::Milliseconds(delay_ms + 200));
  st = fleet_->stub(2).GetCredentials(Harness::Context(absl::Seconds(5)).get(), get, &out);
  EXPECT_TRUE(st.ok()) << st.error_message();
}

TEST_F(FleetBudgetTest, WithRedisDownEachReplicaSpendsItsShare) {
  Start(/*rpm=*/120, /*burst=*/6);
  fleet_->Create(kUserA);
  fleet_->redis().Kill();
  ASSERT_TRUE(WaitFor([&] { return !fleet_->RedisUp(0); }));
  fleet_->emulator().ClearRequests();
  const absl::Time start = absl::Now();
  const int ok = Hammer(/*threads=*/2, start + absl::Seconds(8));
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const int reads = LeafReads();
  // Each replica alone: burst 6/3 = 2 and 40 a minute: together about one
  // budget, never three.
  const double allowed = kReplicas * (2 + 40.0 / 61 * seconds) + 3;
  std::printf("Redis down: %d Leaf reads in %.1f s (shares allow %.0f); %d calls OK\n", reads,
              seconds, allowed, ok);
  EXPECT_LE(reads, allowed);
  EXPECT_GE(ok, kReplicas) << "callers must still be served with Redis down";
}

}  // namespace
}  // namespace leafsvc::testing
