#include "server/watch/alert_bus.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace leafsvc::watch {
namespace {

CredentialAlert Alert(const std::string& id) {
  return {id, "AgLeader", "AgLeaderCredentials", "credentialsUnauthenticated", "UNAUTHENTICATED"};
}

TEST(LocalAlertBusTest, EverySubscriberGetsEveryAlertInOrder) {
  LocalAlertBus bus;
  std::vector<std::string> got;
  bus.Subscribe([&](const CredentialAlert& a) { got.push_back("a:" + a.credential_id); });
  bus.Subscribe([&](const CredentialAlert& a) {
    got.push_back("b:" + a.credential_id);
    EXPECT_EQ(a.provider, "AgLeader");
    EXPECT_EQ(a.credential_type, "AgLeaderCredentials");
    EXPECT_EQ(a.event, "credentialsUnauthenticated");
    EXPECT_EQ(a.status, "UNAUTHENTICATED");
  });
  bus.Publish(Alert("c1"));
  bus.Publish(Alert("c2"));
  EXPECT_EQ(got, (std::vector<std::string>{"a:c1", "b:c1", "a:c2", "b:c2"}));
}

TEST(LocalAlertBusTest, NoSubscriberIsFine) {
  LocalAlertBus bus;
  bus.Publish(Alert("c1"));
}

TEST(LocalAlertBusTest, UnsubscribedHandlersAreCalledNoMore) {
  LocalAlertBus bus;
  int a = 0, b = 0;
  AlertBus::SubscriptionId ia = bus.Subscribe([&](const CredentialAlert&) { ++a; });
  bus.Subscribe([&](const CredentialAlert&) { ++b; });
  bus.Publish(Alert("c1"));
  bus.Unsubscribe(ia);
  bus.Unsubscribe(ia);  // idempotent
  bus.Publish(Alert("c1"));
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 2);
}

// Unsubscribe's promise with a handler running on another thread: it
// returns only once that call has.
TEST(LocalAlertBusTest, UnsubscribeWaitsForACallInProgress) {
  LocalAlertBus bus;
  absl::Notification entered, release;
  std::atomic<bool> inside{false};
  AlertBus::SubscriptionId id = bus.Subscribe([&](const CredentialAlert&) {
    inside = true;
    entered.Notify();
    release.WaitForNotification();
    inside = false;
  });
  std::thread publisher([&] { bus.Publish(Alert("c1")); });
  entered.WaitForNotification();
  std::atomic<bool> returned{false};
  std::thread leaving([&] {
    bus.Unsubscribe(id);
    EXPECT_FALSE(inside.load()) << "Unsubscribe returned while its handler ran";
    returned = true;
  });
  absl::SleepFor(absl::Milliseconds(50));  // cannot fail wrongly: it must still wait
  EXPECT_FALSE(returned.load());
  release.Notify();
  leaving.join();
  publisher.join();
  EXPECT_TRUE(returned.load());
}

// A slow subscriber does not hold up the bus for others: publishing and
// subscribing on other threads go on meanwhile.
TEST(LocalAlertBusTest, ASlowHandlerHoldsNoLock) {
  LocalAlertBus bus;
  absl::Notification entered, release;
  bus.Subscribe([&](const CredentialAlert& a) {
    if (a.credential_id != "slow") return;
    entered.Notify();
    release.WaitForNotification();
  });
  std::thread publisher([&] { bus.Publish(Alert("slow")); });
  entered.WaitForNotification();
  int other = 0;
  bus.Subscribe([&](const CredentialAlert&) { ++other; });
  bus.Publish(Alert("fast"));
  EXPECT_EQ(other, 1);
  release.Notify();
  publisher.join();
}

}  // namespace
}  // namespace leafsvc::watch
