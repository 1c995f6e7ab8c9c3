#include "server/platform/scheduler.h"

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace leafsvc {
namespace {

TEST(SchedulerTest, RunsTasksInTimeOrder) {
  Scheduler s;
  std::mutex mu;
  std::vector<int> order;
  std::promise<void> done;
  const absl::Time now = absl::Now();
  s.RunAt(now + absl::Milliseconds(60), [&] {
    std::lock_guard<std::mutex> l(mu);
    order.push_back(3);
    done.set_value();
  });
  s.RunAt(now + absl::Milliseconds(20), [&] {
    std::lock_guard<std::mutex> l(mu);
    order.push_back(1);
  });
  s.RunAt(now + absl::Milliseconds(40), [&] {
    std::lock_guard<std::mutex> l(mu);
    order.push_back(2);
  });
  ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(SchedulerTest, DoesNotRunEarly) {
  Scheduler s;
  std::promise<absl::Time> ran;
  const absl::Time when = absl::Now() + absl::Milliseconds(50);
  s.RunAt(when, [&] { ran.set_value(absl::Now()); });
  auto f = ran.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_GE(f.get(), when);
}

TEST(SchedulerTest, CancelledTasksNeverRun) {
  Scheduler s;
  std::atomic<int> runs{0};
  auto id = s.RunAt(absl::Now() + absl::Milliseconds(30), [&] { ++runs; });
  EXPECT_TRUE(s.Cancel(id));
  EXPECT_FALSE(s.Cancel(id));
  std::promise<void> later;
  s.RunAt(absl::Now() + absl::Milliseconds(60), [&] { later.set_value(); });
  ASSERT_EQ(later.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(runs.load(), 0);
}

TEST(SchedulerTest, PastTimesRunAtOnceAndTasksMaySchedule) {
  Scheduler s;
  std::promise<void> second;
  s.RunAt(absl::InfinitePast(), [&] { s.RunAt(absl::Now(), [&] { second.set_value(); }); });
  EXPECT_EQ(second.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
}

TEST(SchedulerTest, DestructionDropsPendingTasks) {
  std::atomic<int> runs{0};
  {
    Scheduler s;
    s.RunAt(absl::Now() + absl::Seconds(30), [&] { ++runs; });
  }
  EXPECT_EQ(runs.load(), 0);
}

// Cancel on a task already running waits for it to return: its owner frees
// what the task touches as soon as Cancel returns (Poller::Remove, the
// registrar's Stop). Before the fix Cancel returned at once: `state` was
// freed while the task still wrote to it (ASan: heap-use-after-free in the
// task), and `finished` read false here.
TEST(SchedulerTest, CancelWaitsForATaskAlreadyRunning) {
  Scheduler s;
  struct State {
    std::atomic<bool> finished{false};
  };
  auto* state = new State;
  absl::Notification started, release;
  const Scheduler::TaskId id = s.RunAt(absl::InfinitePast(), [&, state] {
    started.Notify();
    release.WaitForNotification();
    state->finished = true;
  });
  started.WaitForNotification();
  std::atomic<bool> cancel_returned{false};
  bool cancelled = true;
  bool finished_when_cancel_returned = false;
  std::thread canceller([&] {
    cancelled = s.Cancel(id);
    finished_when_cancel_returned = state->finished.load();
    cancel_returned = true;
    delete state;  // what an owner does once Cancel has returned
  });
  // Give a Cancel that does not wait every chance to return early.
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE(cancel_returned.load()) << "Cancel returned while its task was still running";
  release.Notify();
  canceller.join();
  EXPECT_FALSE(cancelled);  // it had started
  EXPECT_TRUE(finished_when_cancel_returned);
}

// A task may cancel itself (e.g. a timer whose callback ends what armed it):
// that must return at once, not wait for itself.
TEST(SchedulerTest, CancelFromInsideTheTaskItselfDoesNotWait) {
  Scheduler s;
  std::atomic<Scheduler::TaskId> id{0};
  absl::Notification id_known;
  std::promise<bool> result;
  id = s.RunAt(absl::InfinitePast(), [&] {
    id_known.WaitForNotification();
    result.set_value(s.Cancel(id.load()));
  });
  id_known.Notify();
  auto f = result.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready) << "deadlock";
  EXPECT_FALSE(f.get());
}

// Cancel of a task other than the one running does not wait for the running one.
TEST(SchedulerTest, CancelOfAPendingTaskDoesNotWaitForTheRunningOne) {
  Scheduler s;
  absl::Notification started, release;
  std::atomic<int> runs{0};
  s.RunAt(absl::InfinitePast(), [&] {
    started.Notify();
    release.WaitForNotification();
  });
  const Scheduler::TaskId later = s.RunAt(absl::Now() + absl::Hours(1), [&] { ++runs; });
  started.WaitForNotification();
  EXPECT_TRUE(s.Cancel(later));  // returns although the first task still runs
  release.Notify();
  EXPECT_EQ(runs.load(), 0);
}

}  // namespace
}  // namespace leafsvc
