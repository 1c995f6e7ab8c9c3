#include "server/http/loop_inbox.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace leafsvc::http {
namespace {

PendingTransfer Transfer(TransferId id) {
  PendingTransfer t;
  t.id = id;
  return t;
}

TEST(LoopInboxTest, ABusyLoopIsNotWokenAndDoesNotSleepOverNewWork) {
  LoopInbox inbox;
  // The loop is running a turn: nobody wakes it...
  EXPECT_FALSE(inbox.Push(Transfer(1)));
  EXPECT_FALSE(inbox.Cancel(7));
  // ...and it does not sleep over what arrived: it takes it first.
  EXPECT_FALSE(inbox.TryToSleep());
  std::vector<PendingTransfer> transfers;
  std::vector<TransferId> cancels;
  EXPECT_FALSE(inbox.Take(&transfers, &cancels));
  ASSERT_EQ(transfers.size(), 1u);
  EXPECT_EQ(transfers[0].id, 1u);
  EXPECT_EQ(cancels, std::vector<TransferId>{7});
  EXPECT_TRUE(inbox.TryToSleep());
}

TEST(LoopInboxTest, ASleepingLoopIsWokenOncePerSleep) {
  LoopInbox inbox;
  ASSERT_TRUE(inbox.TryToSleep());
  EXPECT_TRUE(inbox.Push(Transfer(1)));   // the first wakes it
  EXPECT_FALSE(inbox.Push(Transfer(2)));  // the wake-up is on its way
  EXPECT_FALSE(inbox.Cancel(1));
  inbox.Awake();
  std::vector<PendingTransfer> transfers;
  std::vector<TransferId> cancels;
  inbox.Take(&transfers, &cancels);
  EXPECT_EQ(transfers.size(), 2u);
  EXPECT_EQ(cancels.size(), 1u);
  // The next sleep gets its own wake-up.
  ASSERT_TRUE(inbox.TryToSleep());
  EXPECT_TRUE(inbox.Cancel(2));
}

TEST(LoopInboxTest, StopKeepsTheLoopAwakeAndTheDrainDropsCancels) {
  LoopInbox inbox;
  inbox.Push(Transfer(1));
  inbox.Cancel(1);
  inbox.Stop();
  EXPECT_FALSE(inbox.TryToSleep());
  std::vector<PendingTransfer> drained = inbox.TakeTransfers();
  ASSERT_EQ(drained.size(), 1u);
  EXPECT_FALSE(inbox.TryToSleep());  // still stopping
  std::vector<PendingTransfer> transfers;
  std::vector<TransferId> cancels;
  EXPECT_TRUE(inbox.Take(&transfers, &cancels));
  EXPECT_TRUE(transfers.empty());
  EXPECT_TRUE(cancels.empty());
}

// Whatever the interleaving, nothing pushed is lost: each item is either
// taken in a turn or was pushed while the loop slept, in which case that
// push (or an earlier one in the same sleep) reported a wake-up.
TEST(LoopInboxTest, NothingIsLostBetweenProducersAndASleepingLoop) {
  LoopInbox inbox;
  constexpr int kPerThread = 20000;
  std::atomic<int> wakes{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < 3; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerThread; ++i) {
        if (inbox.Push(Transfer(static_cast<TransferId>(p * kPerThread + i)))) ++wakes;
      }
    });
  }
  std::size_t taken = 0;
  int sleeps = 0;
  std::vector<PendingTransfer> transfers;
  std::vector<TransferId> cancels;
  while (taken < 3u * kPerThread) {
    inbox.Take(&transfers, &cancels);
    taken += transfers.size();
    if (inbox.TryToSleep()) {
      ++sleeps;
      // A real loop polls here until woken; this one just yields.
      std::this_thread::yield();
      inbox.Awake();
    }
  }
  for (std::thread& t : producers) t.join();
  EXPECT_EQ(taken, 3u * kPerThread);
  EXPECT_LE(wakes.load(), sleeps);  // at most one wake-up per sleep
}

}  // namespace
}  // namespace leafsvc::http
