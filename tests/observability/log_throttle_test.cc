#include "server/observability/log_throttle.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace leafsvc {
namespace {

TEST(LogThrottleTest, OneLinePerIntervalPerReasonWithEveryEventCounted) {
  absl::Time now = absl::FromUnixSeconds(1000);
  LogThrottle throttle(LogLevel::kDebug, "refused", absl::Seconds(10), [&now] { return now; });
  EXPECT_TRUE(throttle.Note("a"));   // the first of a reason logs
  EXPECT_FALSE(throttle.Note("a"));  // the rest wait for the interval
  EXPECT_TRUE(throttle.Note("b"));   // another reason has its own line
  now += absl::Seconds(9);
  EXPECT_FALSE(throttle.Note("a"));
  now += absl::Seconds(1);
  EXPECT_TRUE(throttle.Note("a"));
  EXPECT_EQ(throttle.total("a"), 4);
  EXPECT_EQ(throttle.total("b"), 1);
  EXPECT_EQ(throttle.total("c"), 0);
}

TEST(LogThrottleTest, AFloodFromManyThreadsLogsOnceAndCountsAll) {
  LogThrottle throttle(LogLevel::kDebug, "refused", absl::Hours(1));
  std::atomic<int> lines{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) lines += throttle.Note("flood");
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(lines.load(), 1);
  EXPECT_EQ(throttle.total("flood"), 20000);
}

}  // namespace
}  // namespace leafsvc
