#include "server/watch/subscription_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "server/errors/status_details.h"

namespace leafsvc::watch {
namespace {

using Users = std::vector<std::string>;

Users Sorted(Users users) {
  std::sort(users.begin(), users.end());
  return users;
}

TEST(SubscriptionTableTest, StartsAUserOnItsFirstWatcherAndStopsItAfterItsLast) {
  SubscriptionTable table({});
  absl::StatusOr<SubscriptionTable::Added> a = table.Add({"u1", "u2"}, "ip:1");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(Sorted(a->started), (Users{"u1", "u2"}));
  absl::StatusOr<SubscriptionTable::Added> b = table.Add({"u2", "u3"}, "ip:1");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->started, (Users{"u3"}));
  EXPECT_NE(a->id, b->id);
  EXPECT_EQ(table.streams(), 2);
  EXPECT_EQ(table.users(), 3);
  EXPECT_EQ(table.WatchersOf("u2").size(), 2u);
  EXPECT_TRUE(table.WatchersOf("nobody").empty());

  EXPECT_EQ(Sorted(table.Remove(a->id)), (Users{"u1"}));
  EXPECT_TRUE(table.Remove(a->id).empty());  // unknown now: nothing
  EXPECT_FALSE(table.Contains(a->id));
  EXPECT_EQ(Sorted(table.Remove(b->id)), (Users{"u2", "u3"}));
  EXPECT_EQ(table.users(), 0);
  EXPECT_TRUE(table.ids().empty());
}

TEST(SubscriptionTableTest, LimitsRefuseWithTheirReasonAndChangeNothing) {
  WatchLimits limits;
  limits.max_streams = 2;
  limits.max_users = 3;
  SubscriptionTable table(limits);
  ASSERT_TRUE(table.Add({"u1", "u2"}, "").ok());
  absl::StatusOr<SubscriptionTable::Added> users = table.Add({"u3", "u4"}, "");
  EXPECT_TRUE(absl::IsResourceExhausted(users.status()));
  EXPECT_EQ(GetStatusDetails(users.status()).reason, "TOO_MANY_WATCHED_USERS");
  EXPECT_NE(users.status().message().find("--watch_max_users"), std::string::npos);
  EXPECT_EQ(table.users(), 2);
  EXPECT_EQ(table.streams(), 1);
  ASSERT_TRUE(table.Add({"u1", "u3"}, "").ok());  // one new user only
  absl::StatusOr<SubscriptionTable::Added> streams = table.Add({"u1"}, "");
  EXPECT_EQ(GetStatusDetails(streams.status()).reason, "TOO_MANY_WATCH_STREAMS");
  EXPECT_NE(streams.status().message().find("--watch_max_streams"), std::string::npos);
}

TEST(SubscriptionTableTest, APerCallerCapCountsDistinctUsers) {
  WatchLimits limits;
  limits.max_users_per_caller = 2;
  SubscriptionTable table(limits);
  auto first = table.Add({"u1", "u2"}, "key:a");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(table.Add({"u1"}, "key:a").ok());  // already its: free
  auto over = table.Add({"u3"}, "key:a");
  EXPECT_EQ(GetStatusDetails(over.status()).reason, "TOO_MANY_WATCHED_USERS_FOR_CALLER");
  ASSERT_TRUE(table.Add({"u3"}, "key:b").ok());  // another caller
  table.Remove(first->id);                       // frees u2 (u1 is still watched)
  ASSERT_TRUE(table.Add({"u3"}, "key:a").ok());
}

TEST(SubscriptionTableTest, CredentialIndexFollowsReadsAndWatchers) {
  SubscriptionTable table({});
  auto a = table.Add({"u1"}, "");
  EXPECT_FALSE(table.UserOfCredential("c1").has_value());
  table.IndexCredential("u1", "c1");
  EXPECT_EQ(table.UserOfCredential("c1"), "u1");
  table.IndexCredential("u1", "c2");  // replaced
  EXPECT_FALSE(table.UserOfCredential("c1").has_value());
  EXPECT_EQ(table.UserOfCredential("c2"), "u1");
  table.IndexCredential("u1", "");  // deleted
  EXPECT_FALSE(table.UserOfCredential("c2").has_value());
  table.IndexCredential("u1", "c3");
  table.IndexCredential("nobody", "c4");  // not watched: ignored
  EXPECT_FALSE(table.UserOfCredential("c4").has_value());
  table.Remove(a->id);  // the last watcher left: unindexed
  EXPECT_FALSE(table.UserOfCredential("c3").has_value());
}

}  // namespace
}  // namespace leafsvc::watch
