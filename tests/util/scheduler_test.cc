#include "server/util/scheduler.h"

#include <atomic>
#include <future>
#include <vector>

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

}  // namespace
}  // namespace leafsvc
