// Redis faults under load, through the real stack: three replicas, one
// real Redis (killed with SIGKILL, paused with SIGSTOP, restarted), one
// emulator. Callers on every replica keep being served throughout, with
// bounded waits; watchers are never lost: with Redis away each replica
// polls its own users and still reports changes; with Redis back the
// replicas rejoin without a restart (alerts and polls shared again).
#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/fleet_harness.h"
#include "tests/integration/watch_stream.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr int kReplicas = 3;

// Callers on every replica until stopped; counts outcomes and the slowest
// call.
class Load {
 public:
  Load(FleetHarness& fleet, const std::string& user) {
    for (int r = 0; r < kReplicas; ++r) {
      threads_.emplace_back([this, &fleet, user, r] {
        while (!stop_.load()) {
          v1::GetCredentialsRequest get;
          get.set_leaf_user_id(user);
          v1::Credentials out;
          const absl::Time start = absl::Now();
          grpc::Status st =
              fleet.stub(r).GetCredentials(Harness::Context(absl::Seconds(5)).get(), get, &out);
          const int64_t ms = absl::ToInt64Milliseconds(absl::Now() - start);
          int64_t seen = slowest_ms_.load();
          while (ms > seen && !slowest_ms_.compare_exchange_weak(seen, ms)) {
          }
          (st.ok() ? ok_ : failed_).fetch_add(1);
          absl::SleepFor(absl::Milliseconds(10));
        }
      });
    }
  }
  ~Load() { Stop(); }
  void Stop() {
    stop_.store(true);
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  int ok() const { return ok_.load(); }
  int failed() const { return failed_.load(); }
  int64_t slowest_ms() const { return slowest_ms_.load(); }
  void ResetSlowest() { slowest_ms_.store(0); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0};
  std::atomic<int> failed_{0};
  std::atomic<int64_t> slowest_ms_{0};
  std::vector<std::thread> threads_;
};

class FleetFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::Available()) GTEST_SKIP() << "no redis-server on this machine";
    auto f = FleetHarness::Start(kReplicas, [](int, ServerConfig& c) {
      c.watch_poll_interval = absl::Seconds(1);
      c.watch_poll_jitter = absl::ZeroDuration();
    });
    ASSERT_TRUE(f.ok()) << f.status();
    fleet_ = *std::move(f);
    ASSERT_TRUE(AllUp());
  }
  bool AllUp(absl::Duration timeout = absl::Seconds(10)) {
    return WaitFor(
        [&] {
          for (int i = 0; i < kReplicas; ++i) {
            if (!fleet_->RedisUp(i)) return false;
          }
          return true;
        },
        timeout);
  }
  bool AllDown() {
    return WaitFor([&] {
      for (int i = 0; i < kReplicas; ++i) {
        if (fleet_->RedisUp(i)) return false;
      }
      return true;
    });
  }
  // Flips the user's status and waits for every stream to report it.
  void ExpectEveryStreamHears(std::vector<std::unique_ptr<WatchStream>>& streams,
                              const std::string& user, const std::string& status) {
    ASSERT_TRUE(fleet_->emulator().SetCredentialStatus(user, status));
    for (int r = 0; r < kReplicas; ++r) {
      bool heard = false;
      const absl::Time until = absl::Now() + absl::Seconds(15);
      while (!heard && absl::Now() < until) {
        std::optional<v1::CredentialsChange> c = streams[r]->Next(until - absl::Now());
        if (!c.has_value()) break;
        heard = c->current().leaf_status() == status;
      }
      EXPECT_TRUE(heard) << "replica " << r << "'s watcher never heard " << status;
    }
  }

  std::unique_ptr<FleetHarness> fleet_;
};

TEST_F(FleetFaultsTest, KilledPausedAndRestartedRedisLosesNoCallerAndNoWatcher) {
  const std::string user = "00000000-0000-4000-8000-000000000001";
  fleet_->Create(user);
  std::vector<std::unique_ptr<WatchStream>> streams;
  for (int r = 0; r < kReplicas; ++r) {
    streams.push_back(std::make_unique<WatchStream>(fleet_->stub(r), std::vector{user}));
    ASSERT_TRUE(streams.back()->Next(absl::Seconds(10)).has_value());
  }
  Load load(*fleet_, user);
  absl::SleepFor(absl::Seconds(1));

  // SIGKILL: every replica serves alone and says so.
  fleet_->redis().Kill();
  ASSERT_TRUE(AllDown());
  const int ok_before = load.ok();
  absl::SleepFor(absl::Seconds(2));
  EXPECT_GT(load.ok(), ok_before) << "callers were not served with Redis killed";
  ExpectEveryStreamHears(streams, user, "UNAUTHENTICATED");

  // Back on the same address: rejoin without a restart, no watcher lost.
  ASSERT_TRUE(fleet_->redis().Restart().ok());
  ASSERT_TRUE(AllUp(absl::Seconds(20))) << "the replicas did not rejoin";
  ExpectEveryStreamHears(streams, user, "OK");

  // SIGSTOP: commands time out (bounded waits), callers still served.
  load.ResetSlowest();
  fleet_->redis().Pause();
  const int ok_paused = load.ok();
  absl::SleepFor(absl::Seconds(4));
  EXPECT_GT(load.ok(), ok_paused) << "callers were not served with Redis paused";
  ExpectEveryStreamHears(streams, user, "MISSING_PERMISSION");
  fleet_->redis().Resume();
  ASSERT_TRUE(AllUp(absl::Seconds(20)));
  ExpectEveryStreamHears(streams, user, "OK");
  load.Stop();
  std::printf("callers: %d OK, %d failed; slowest call after the pause began: %lld ms\n", load.ok(),
              load.failed(), static_cast<long long>(load.slowest_ms()));
  // A paused Redis costs bounded waits: the command timeout (500 ms) and a
  // budget probe, never the caller's whole deadline.
  EXPECT_LT(load.slowest_ms(), 3000);
  for (auto& s : streams) EXPECT_FALSE(s->Ended(absl::ZeroDuration()).has_value());
}

}  // namespace
}  // namespace leafsvc::testing
