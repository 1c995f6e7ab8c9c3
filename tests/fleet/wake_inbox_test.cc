#include "server/fleet/wake_inbox.h"

#include <poll.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace leafsvc::fleet {
namespace {

bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1;
}

TEST(WakeInboxTest, WakesOnlyASleepingLoopAndOncePerSleep) {
  WakeInbox<std::string> inbox;
  ASSERT_GE(inbox.fd(), 0);
  std::string a = "a";
  ASSERT_TRUE(inbox.Push(a));
  EXPECT_FALSE(Readable(inbox.fd())) << "the loop was awake: no wake-up needed";
  EXPECT_FALSE(inbox.BeginSleep()) << "work is queued";
  std::vector<std::string> got;
  EXPECT_FALSE(inbox.Take(&got));
  EXPECT_EQ(got, std::vector<std::string>{"a"});

  ASSERT_TRUE(inbox.BeginSleep());
  std::string b = "b", c = "c";
  ASSERT_TRUE(inbox.Push(b));
  ASSERT_TRUE(inbox.Push(c));
  EXPECT_TRUE(Readable(inbox.fd()));
  inbox.EndSleep();
  inbox.Drain();
  EXPECT_FALSE(Readable(inbox.fd()));
  inbox.Take(&got);
  EXPECT_EQ(got, (std::vector<std::string>{"b", "c"}));
}

TEST(WakeInboxTest, StopWakesAndCloseRefusesLaterPushes) {
  WakeInbox<std::string> inbox;
  ASSERT_TRUE(inbox.BeginSleep());
  inbox.Stop();
  EXPECT_TRUE(Readable(inbox.fd()));
  inbox.EndSleep();
  std::vector<std::string> got;
  EXPECT_TRUE(inbox.Take(&got));
  EXPECT_FALSE(inbox.BeginSleep()) << "stopping: never sleep";
  std::string late = "late";
  ASSERT_TRUE(inbox.Push(late));
  EXPECT_TRUE(inbox.TakeOrClose(&got));
  EXPECT_EQ(got, std::vector<std::string>{"late"});
  EXPECT_FALSE(inbox.TakeOrClose(&got));
  std::string refused = "refused";
  EXPECT_FALSE(inbox.Push(refused));
  EXPECT_EQ(refused, "refused") << "a refused item is left to the caller";
}

// Producers on several threads, a loop that sleeps in poll: nothing is lost
// and the loop never sleeps through a push.
TEST(WakeInboxTest, NoPushIsLostUnderContention) {
  WakeInbox<int> inbox;
  constexpr int kThreads = 4, kEach = 20000;
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&inbox] {
      for (int i = 0; i < kEach; ++i) {
        int v = 1;
        inbox.Push(v);
      }
    });
  }
  long total = 0;
  std::vector<int> got;
  while (total < kThreads * kEach) {
    inbox.Take(&got);
    total += static_cast<long>(got.size());
    if (total >= kThreads * kEach) break;
    if (inbox.BeginSleep()) {
      pollfd p{inbox.fd(), POLLIN, 0};
      ASSERT_EQ(poll(&p, 1, 30000), 1) << "slept through a push";
      inbox.EndSleep();
      inbox.Drain();
    }
  }
  for (std::thread& t : producers) t.join();
  EXPECT_EQ(total, kThreads * kEach);
}

}  // namespace
}  // namespace leafsvc::fleet
