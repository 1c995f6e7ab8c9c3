// Checks --config=tsan itself: a race in project code is reported (also when
// one side runs on a gRPC thread, whose stack holds frames of a suppressed
// library), and absl::Mutex / CondVar / Notification synchronization is not
// mistaken for a race (thanks to //bazel/tsan:absl_mutex_shim, and only
// thanks to it: with the shim switched off the same code is reported).
//
// Each scenario runs in a child process (this binary, one DISABLED_ test),
// because a TSan report makes the whole process exit with code 66.

#include <grpcpp/alarm.h>
#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

namespace {

constexpr int kTsanExitCode = 66;  // exitcode= in bazel/tsan/absl_mutex_shim.cc

struct ChildResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs one DISABLED_ scenario of this binary with `env` (e.g. "A=1 ") added.
ChildResult RunScenario(const std::string& name, const std::string& env = "") {
  char self[PATH_MAX] = {};
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  EXPECT_GT(n, 0);
  // The child must not write this test's XML or premature-exit files.
  const std::string command =
      "env -u XML_OUTPUT_FILE -u TEST_PREMATURE_EXIT_FILE -u GTEST_OUTPUT " + env +
      "TSAN_OPTIONS=exitcode=66:halt_on_error=0 '" + self +
      "' --gtest_also_run_disabled_tests --gtest_filter=Scenario." + name + " 2>&1";
  ChildResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  size_t got;
  while ((got = fread(buf, 1, sizeof(buf), pipe)) > 0) result.output.append(buf, got);
  const int status = pclose(pipe);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

constexpr char kRaceReport[] = "WARNING: ThreadSanitizer: data race";

class TsanConfigTest : public testing::Test {
 protected:
  void SetUp() override {
#ifndef UNDER_TSAN
    GTEST_SKIP() << "only meaningful under bazel test --config=tsan";
#endif
  }
};

TEST_F(TsanConfigTest, RaceBetweenPlainThreadsIsReported) {
  const ChildResult child = RunScenario("DISABLED_RaceOnPlainThreads");
  EXPECT_EQ(child.exit_code, kTsanExitCode) << child.output;
  EXPECT_NE(child.output.find(kRaceReport), std::string::npos) << child.output;
  EXPECT_NE(child.output.find("BumpUnguarded"), std::string::npos) << child.output;
}

TEST_F(TsanConfigTest, RaceWithAGrpcThreadIsReported) {
  const ChildResult child = RunScenario("DISABLED_RaceWithGrpcThread");
  EXPECT_EQ(child.exit_code, kTsanExitCode) << child.output;
  EXPECT_NE(child.output.find(kRaceReport), std::string::npos) << child.output;
  EXPECT_NE(child.output.find("BumpFromAlarm"), std::string::npos) << child.output;
}

TEST_F(TsanConfigTest, AbslSynchronizationIsNotReported) {
  const ChildResult child = RunScenario("DISABLED_AbslSynchronization");
  EXPECT_EQ(child.exit_code, 0) << child.output;
  EXPECT_EQ(child.output.find("ThreadSanitizer"), std::string::npos) << child.output;
  EXPECT_NE(child.output.find("[  PASSED  ] 1 test"), std::string::npos) << child.output;
}

TEST_F(TsanConfigTest, WithoutTheShimAbslSynchronizationIsReported) {
  const ChildResult child = RunScenario("DISABLED_AbslSynchronization", "ABSL_MUTEX_SHIM_OFF=1 ");
  EXPECT_EQ(child.exit_code, kTsanExitCode) << child.output;
  EXPECT_NE(child.output.find(kRaceReport), std::string::npos) << child.output;
}

// --- The scenarios, run only as children. ---

int unguarded = 0;

__attribute__((noinline)) void BumpUnguarded() { ++unguarded; }

TEST(Scenario, DISABLED_RaceOnPlainThreads) {
  std::thread a([] {
    for (int i = 0; i < 1000; ++i) BumpUnguarded();
  });
  std::thread b([] {
    for (int i = 0; i < 1000; ++i) BumpUnguarded();
  });
  a.join();
  b.join();
}

int alarm_counter = 0;

__attribute__((noinline)) void BumpFromAlarm() { ++alarm_counter; }

TEST(Scenario, DISABLED_RaceWithGrpcThread) {
  std::promise<void> fired;
  grpc::Alarm alarm;
  alarm.Set(std::chrono::system_clock::now() + std::chrono::milliseconds(200), [&](bool) {
    BumpFromAlarm();  // on a gRPC thread
    fired.set_value();
  });
  // After Set: nothing orders this write before the callback's.
  ++alarm_counter;
  fired.get_future().wait();
}

TEST(Scenario, DISABLED_AbslSynchronization) {
  // A counter guarded by absl::Mutex, written from several threads.
  absl::Mutex mu;
  int counter = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        absl::MutexLock lock(&mu);
        ++counter;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, 2000);

  // Reader locks, TryLock.
  int readers_saw = 0;
  std::thread writer([&] {
    absl::MutexLock lock(&mu);
    counter = 7;
  });
  writer.join();
  {
    absl::ReaderMutexLock lock(&mu);
    readers_saw = counter;
  }
  EXPECT_EQ(readers_saw, 7);
  std::thread trier([&] {
    while (!mu.TryLock()) std::this_thread::yield();
    ++counter;
    mu.Unlock();
  });
  trier.join();

  // A hand-off through CondVar: the data is plain, ordered by the mutex.
  absl::CondVar cv;
  bool ready = false;
  std::string payload;
  std::thread producer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    payload = "hello";
    absl::MutexLock lock(&mu);
    ready = true;
    cv.Signal();
  });
  {
    absl::MutexLock lock(&mu);
    while (!ready) cv.WaitWithTimeout(&mu, absl::Seconds(10));
  }
  EXPECT_EQ(payload, "hello");
  producer.join();

  // Mutex::Await with a Condition.
  int stage = 0;
  std::thread stepper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    absl::MutexLock lock(&mu);
    stage = 1;
  });
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](int* s) { return *s == 1; }, &stage));
  }
  stepper.join();

  // Notification, both when the waiter blocks and when it is already set.
  std::string message;
  absl::Notification done;
  std::thread notifier([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    message = "done";
    done.Notify();
  });
  done.WaitForNotification();
  EXPECT_EQ(message, "done");
  notifier.join();
  std::string late;
  absl::Notification early;
  std::thread early_notifier([&] {
    late = "set";
    early.Notify();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(early.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(late, "set");
  early_notifier.join();
}

}  // namespace
