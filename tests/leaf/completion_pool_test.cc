#include "server/leaf/completion_pool.h"

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace leafsvc::leaf {
namespace {

TEST(CompletionPoolTest, RunsTasksOffTheCallersThread) {
  CompletionPool pool(2);
  absl::Notification ran;
  std::thread::id on;
  pool.Post([&] {
    on = std::this_thread::get_id();
    ran.Notify();
  });
  ASSERT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_NE(on, std::this_thread::get_id());
}

TEST(CompletionPoolTest, ATaskStuckInOneThreadDoesNotHoldUpTheNext) {
  CompletionPool pool(2);
  absl::Notification release, second;
  pool.Post([&] { release.WaitForNotification(); });
  pool.Post([&] { second.Notify(); });
  EXPECT_TRUE(second.WaitForNotificationWithTimeout(absl::Seconds(10)));
  release.Notify();
}

TEST(CompletionPoolTest, DestructionRunsEveryQueuedTask) {
  std::atomic<int> ran{0};
  {
    CompletionPool pool(1);
    for (int i = 0; i < 100; ++i) pool.Post([&] { ++ran; });
  }
  EXPECT_EQ(ran.load(), 100);
}

}  // namespace
}  // namespace leafsvc::leaf
