// The emulator's webhook store (emulator/webhooks.h): one webhook per event,
// ids never reused, lookups by id and event, and the status-to-event map.
#include "emulator/webhooks.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"

namespace leafemu {
namespace {

Webhook Hook(std::string name, std::vector<std::string> events) {
  Webhook h;
  h.name = std::move(name);
  h.url = "https://hooks.test/" + h.name;
  h.secret = "secret-" + h.name;
  h.events = std::move(events);
  return h;
}

TEST(WebhookStoreTest, CreateAssignsAnIdAndKeepsEveryField) {
  WebhookStore store;
  Webhook in = Hook("a", {"credentialsUnauthenticated"});
  in.id = "caller-chosen";
  auto created = store.Create(in, nullptr);
  ASSERT_TRUE(created.has_value());
  EXPECT_EQ(created->id, "webhook-1");
  EXPECT_EQ(created->name, "a");
  EXPECT_EQ(created->url, "https://hooks.test/a");
  EXPECT_EQ(created->secret, "secret-a");
  EXPECT_EQ(created->events, in.events);
  auto got = store.Get("webhook-1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->secret, "secret-a");
  EXPECT_EQ(store.Get("caller-chosen"), std::nullopt);
}

TEST(WebhookStoreTest, SecondWebhookForAnEventIsRefusedNamingTheEvent) {
  WebhookStore store;
  ASSERT_TRUE(store.Create(Hook("a", {"credentialsUnauthenticated"}), nullptr));
  std::string taken = "untouched";
  EXPECT_FALSE(store.Create(
      Hook("b", {"credentialsLimitedPermission", "credentialsUnauthenticated"}), &taken));
  EXPECT_EQ(taken, "credentialsUnauthenticated");
  // Nothing of the refused webhook was stored, not even its free event.
  EXPECT_EQ(store.List().size(), 1u);
  EXPECT_TRUE(store.ForEvent("credentialsLimitedPermission").empty());
  // A null `taken` is allowed.
  EXPECT_FALSE(store.Create(Hook("c", {"credentialsUnauthenticated"}), nullptr));
}

TEST(WebhookStoreTest, DifferentEventsCoexistAndForEventFindsEach) {
  WebhookStore store;
  ASSERT_TRUE(store.Create(Hook("a", {"credentialsUnauthenticated"}), nullptr));
  ASSERT_TRUE(store.Create(Hook("b", {"credentialsLimitedPermission"}), nullptr));
  auto a = store.ForEvent("credentialsUnauthenticated");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].name, "a");
  auto b = store.ForEvent("credentialsLimitedPermission");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].name, "b");
  EXPECT_TRUE(store.ForEvent("other").empty());
  EXPECT_TRUE(store.ForEvent("").empty());
  auto all = store.List();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "a");  // creation order
  EXPECT_EQ(all[1].name, "b");
}

TEST(WebhookStoreTest, DeleteFreesTheEventAndIdsAreNeverReused) {
  WebhookStore store;
  auto first = store.Create(Hook("a", {"credentialsUnauthenticated"}), nullptr);
  ASSERT_TRUE(first);
  EXPECT_FALSE(store.Delete("webhook-99"));
  EXPECT_TRUE(store.Delete(first->id));
  EXPECT_FALSE(store.Delete(first->id));
  EXPECT_EQ(store.Get(first->id), std::nullopt);
  auto again = store.Create(Hook("a2", {"credentialsUnauthenticated"}), nullptr);
  ASSERT_TRUE(again);
  EXPECT_NE(again->id, first->id);
  EXPECT_EQ(again->id, "webhook-2");
}

TEST(WebhookStoreTest, ResetEmptiesTheStore) {
  WebhookStore store;
  ASSERT_TRUE(store.Create(Hook("a", {"credentialsUnauthenticated"}), nullptr));
  store.Reset();
  EXPECT_TRUE(store.List().empty());
  EXPECT_TRUE(store.ForEvent("credentialsUnauthenticated").empty());
  EXPECT_TRUE(store.Create(Hook("b", {"credentialsUnauthenticated"}), nullptr));
}

TEST(WebhookStoreTest, AWebhookWithNoEventsIsStoredAndNeverMatches) {
  WebhookStore store;
  ASSERT_TRUE(store.Create(Hook("none", {}), nullptr));
  ASSERT_TRUE(store.Create(Hook("none2", {}), nullptr));
  EXPECT_EQ(store.List().size(), 2u);
  EXPECT_TRUE(store.ForEvent("").empty());
}

TEST(WebhookStoreTest, ConcurrentCreatesForOneEventLetExactlyOneIn) {
  WebhookStore store;
  constexpr int kThreads = 8;
  std::vector<std::optional<Webhook>> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      results[i] =
          store.Create(Hook("h" + std::to_string(i), {"credentialsUnauthenticated"}), nullptr);
    });
  }
  for (auto& t : threads) t.join();
  int created = 0;
  for (const auto& r : results) created += r.has_value() ? 1 : 0;
  EXPECT_EQ(created, 1);
  EXPECT_EQ(store.List().size(), 1u);
}

TEST(WebhookStoreTest, ConcurrentCreatesForDistinctEventsGetDistinctIds) {
  WebhookStore store;
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back(
        [&, i] { EXPECT_TRUE(store.Create(Hook("h", {"event-" + std::to_string(i)}), nullptr)); });
  }
  for (auto& t : threads) t.join();
  absl::flat_hash_set<std::string> ids;
  for (const Webhook& h : store.List()) ids.insert(h.id);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads));
}

TEST(AlertEventForStatusTest, OnlyTheTwoAlertingStatusesHaveAnEvent) {
  EXPECT_EQ(AlertEventForStatus("UNAUTHENTICATED"), "credentialsUnauthenticated");
  EXPECT_EQ(AlertEventForStatus("MISSING_PERMISSION"), "credentialsLimitedPermission");
  for (const char* none :
       {"OK", "TEMPORARILY_UNAVAILABLE", "", "unauthenticated", "UNAUTHENTICATED ", "PROCESSING"}) {
    EXPECT_EQ(AlertEventForStatus(none), std::nullopt) << none;
  }
}

}  // namespace
}  // namespace leafemu
