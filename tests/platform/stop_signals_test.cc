#include "server/platform/stop_signals.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#include "gtest/gtest.h"

namespace leafsvc {
namespace {

bool Blocks(int signo) {
  sigset_t current;
  pthread_sigmask(SIG_BLOCK, nullptr, &current);
  return sigismember(&current, signo) == 1;
}

TEST(StopSignalsTest, BlockedHereAndInEveryLaterThreadThenTakenByWait) {
  const StopSignals stop = StopSignals::Block();
  EXPECT_TRUE(Blocks(SIGTERM));
  EXPECT_TRUE(Blocks(SIGINT));
  bool thread_blocks = false;
  std::thread([&] { thread_blocks = Blocks(SIGTERM) && Blocks(SIGINT); }).join();
  EXPECT_TRUE(thread_blocks);

  // Process-directed, as `kill PID` sends it: nobody dies, Wait takes it.
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  EXPECT_EQ(stop.Wait(), SIGTERM);
  ASSERT_EQ(kill(getpid(), SIGINT), 0);
  EXPECT_EQ(stop.Wait(), SIGINT);
}

TEST(StopSignalsTest, Names) {
  EXPECT_STREQ(StopSignals::Name(SIGTERM), "SIGTERM");
  EXPECT_STREQ(StopSignals::Name(SIGINT), "SIGINT");
  EXPECT_STREQ(StopSignals::Name(SIGHUP), "another signal");
}

}  // namespace
}  // namespace leafsvc
