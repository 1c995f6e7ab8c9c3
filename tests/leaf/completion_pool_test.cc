#include "server/leaf/completion_pool.h"

#include <atomic>
#include <mutex>
#include <optional>
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

// What the owner of a queued completion can count on: once Cancel returns,
// no pool thread calls its task any more (the owner may be destroyed).
TEST(CompletionPoolTest, CancelOfAQueuedJobRunsItHereCancelledAndNeverAgain) {
  std::atomic<int> runs{0};
  std::atomic<bool> was_cancelled{false};
  std::thread::id ran_on;
  absl::Notification busy, release;
  {
    CompletionPool pool(1);
    pool.Post([&] {
      busy.Notify();
      release.WaitForNotification();
    });
    busy.WaitForNotification();
    auto job = CompletionPool::NewJob();
    pool.Post(job, [&](bool cancelled) {
      ++runs;
      was_cancelled = cancelled;
      ran_on = std::this_thread::get_id();
    });
    CompletionPool::Cancel(*job);
    EXPECT_EQ(runs.load(), 1);
    EXPECT_TRUE(was_cancelled.load());
    EXPECT_EQ(ran_on, std::this_thread::get_id());
    release.Notify();
  }  // the pool thread pops the job after the cancel: it must not run it
  EXPECT_EQ(runs.load(), 1);
}

TEST(CompletionPoolTest, CancelWaitsForAJobRunningOnAPoolThread) {
  CompletionPool pool(1);
  absl::Notification started, release;
  std::atomic<bool> task_done{false}, cancel_returned{false};
  auto job = CompletionPool::NewJob();
  pool.Post(job, [&](bool) {
    started.Notify();
    release.WaitForNotification();
    task_done = true;
  });
  started.WaitForNotification();
  std::thread owner([&] {
    CompletionPool::Cancel(*job);
    // The task is over before the owner may go.
    EXPECT_TRUE(task_done.load());
    cancel_returned = true;
  });
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE(cancel_returned.load());
  release.Notify();
  owner.join();
  EXPECT_TRUE(cancel_returned.load());
}

TEST(CompletionPoolTest, ATaskMayCancelItsOwnJob) {
  CompletionPool pool(1);
  absl::Notification done;
  auto job = CompletionPool::NewJob();
  pool.Post(job, [&](bool) {
    CompletionPool::Cancel(*job);  // e.g. its owner cancels from the callback
    done.Notify();
  });
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

TEST(CompletionPoolTest, AJobCancelledBeforeItIsPostedRunsCancelledAtThePost) {
  CompletionPool pool(1);
  auto job = CompletionPool::NewJob();
  CompletionPool::Cancel(*job);
  std::optional<bool> cancelled;
  std::thread::id ran_on;
  pool.Post(job, [&](bool c) {
    cancelled = c;
    ran_on = std::this_thread::get_id();
  });
  ASSERT_TRUE(cancelled.has_value());  // ran inside Post, not queued
  EXPECT_TRUE(*cancelled);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(CompletionPoolTest, DestructionRunsEveryQueuedJobOnce) {
  std::atomic<int> runs{0};
  absl::Notification busy, release;
  {
    CompletionPool pool(1);
    pool.Post([&] {
      busy.Notify();
      release.WaitForNotification();
    });
    busy.WaitForNotification();
    for (int i = 0; i < 10; ++i) {
      pool.Post(CompletionPool::NewJob(), [&](bool) { ++runs; });
    }
    release.Notify();
  }
  // Some ran on the pool thread, the rest in the destructor: none twice, none lost.
  EXPECT_EQ(runs.load(), 10);
}

}  // namespace
}  // namespace leafsvc::leaf
