// CallbackGate: passes are admitted while open; Close refuses new ones and
// returns only once those inside have left.
#include "server/platform/callback_gate.h"

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace leafsvc {
namespace {

TEST(CallbackGateTest, AdmitsWhileOpenAndNothingAfterClose) {
  CallbackGate gate;
  {
    CallbackGate::Pass pass(&gate);
    EXPECT_TRUE(pass);
  }
  gate.Close();
  CallbackGate::Pass late(&gate);
  EXPECT_FALSE(late);
}

TEST(CallbackGateTest, CloseWaitsForTheCallbackInside) {
  CallbackGate gate;
  absl::Notification inside, release;
  std::atomic<bool> left{false};
  std::thread callback([&] {
    CallbackGate::Pass pass(&gate);
    ASSERT_TRUE(pass);
    inside.Notify();
    release.WaitForNotification();
    absl::SleepFor(absl::Milliseconds(50));
    left = true;
  });
  inside.WaitForNotification();
  std::thread closer([&] { gate.Close(); });
  absl::SleepFor(absl::Milliseconds(20));
  release.Notify();
  closer.join();
  EXPECT_TRUE(left.load()) << "Close returned while a callback was inside";
  callback.join();
}

}  // namespace
}  // namespace leafsvc
