#include "server/watch/registry.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "server/util/status_details.h"
#include "tests/watch/observations.h"

namespace leafsvc::watch {
namespace {

struct FakePolls final : PollControl {
  std::map<std::string, int> added, removed, prompted;
  void Add(const std::string& user) override { ++added[user]; }
  void Remove(const std::string& user) override { ++removed[user]; }
  void PollNow(const std::string& user, Source) override { ++prompted[user]; }
};

struct Recorder final : Watcher {
  std::vector<std::pair<std::string, ChangeKind>> changes;
  std::optional<absl::Status> ended;
  void OnChange(const std::string& user, const Change& c) override {
    changes.emplace_back(user, c.kind);
  }
  void OnEnd(const absl::Status& status) override { ended = status; }
};

TEST(RegistryTest, OneReadPerUserHoweverManyWatchers) {
  FakePolls polls;
  Registry registry(&polls, {});
  Recorder a, b;
  ASSERT_TRUE(registry.Subscribe({"u1", "u2"}, &a).ok());
  ASSERT_TRUE(registry.Subscribe({"u1"}, &b).ok());
  EXPECT_EQ(polls.added["u1"], 1);
  EXPECT_EQ(polls.added["u2"], 1);
  EXPECT_EQ(registry.streams(), 2);
  EXPECT_EQ(registry.users(), 2);

  registry.OnResult("u1", Present("c1", "OK"), Source::kInitial);
  registry.OnResult("u1", Present("c1", "UNAUTHENTICATED"), Source::kPoll);
  using P = std::pair<std::string, ChangeKind>;
  EXPECT_EQ(a.changes,
            (std::vector<P>{{"u1", ChangeKind::kInitial}, {"u1", ChangeKind::kStatusChanged}}));
  EXPECT_EQ(b.changes, a.changes);
}

TEST(RegistryTest, ALateWatcherStartsFromTheSnapshot) {
  FakePolls polls;
  Registry registry(&polls, {});
  Recorder a, b;
  ASSERT_TRUE(registry.Subscribe({"u1"}, &a).ok());
  registry.OnResult("u1", Present("c1", "OK"), Source::kInitial);
  ASSERT_TRUE(registry.Subscribe({"u1"}, &b).ok());
  EXPECT_EQ(polls.added["u1"], 1);
  ASSERT_EQ(b.changes.size(), 1u);
  EXPECT_EQ(b.changes[0].second, ChangeKind::kInitial);
}

TEST(RegistryTest, LastWatcherLeavingStopsTheReads) {
  FakePolls polls;
  Registry registry(&polls, {});
  Recorder a, b;
  Registry::WatchId ia = *registry.Subscribe({"u1", "u2"}, &a);
  Registry::WatchId ib = *registry.Subscribe({"u1"}, &b);
  registry.Unsubscribe(ia);
  EXPECT_EQ(polls.removed["u2"], 1);
  EXPECT_EQ(polls.removed["u1"], 0);
  registry.Unsubscribe(ia);  // idempotent
  registry.Unsubscribe(ib);
  EXPECT_EQ(polls.removed["u1"], 1);
  EXPECT_EQ(registry.users(), 0);
  registry.OnResult("u1", Present("c1", "OK"), Source::kPoll);  // late: ignored
  EXPECT_TRUE(b.changes.empty());
}

TEST(RegistryTest, LimitsAreResourceExhausted) {
  FakePolls polls;
  RegistryOptions options;
  options.max_streams = 2;
  options.max_users = 3;
  Registry registry(&polls, options);
  Recorder w;
  ASSERT_TRUE(registry.Subscribe({"u1", "u2"}, &w).ok());
  absl::StatusOr<Registry::WatchId> too_many_users = registry.Subscribe({"u3", "u4"}, &w);
  EXPECT_TRUE(absl::IsResourceExhausted(too_many_users.status()));
  EXPECT_EQ(GetStatusDetails(too_many_users.status()).reason, "TOO_MANY_WATCHED_USERS");
  ASSERT_TRUE(registry.Subscribe({"u1", "u3"}, &w).ok());  // only one new user
  absl::StatusOr<Registry::WatchId> too_many_streams = registry.Subscribe({"u1"}, &w);
  EXPECT_EQ(GetStatusDetails(too_many_streams.status()).reason, "TOO_MANY_WATCH_STREAMS");
  EXPECT_EQ(polls.added.count("u4"), 0u);
}

TEST(RegistryTest, PromptMapsTheCredentialIdToItsUser) {
  FakePolls polls;
  Registry registry(&polls, {});
  Recorder w;
  ASSERT_TRUE(registry.Subscribe({"u1"}, &w).ok());
  EXPECT_FALSE(registry.Prompt("c1"));  // not read yet
  registry.OnResult("u1", Present("c1", "OK"), Source::kInitial);
  EXPECT_TRUE(registry.Prompt("c1"));
  EXPECT_EQ(polls.prompted["u1"], 1);
  registry.OnResult("u1", Present("c2", "OK"), Source::kPoll);  // replaced
  EXPECT_FALSE(registry.Prompt("c1"));
  EXPECT_TRUE(registry.Prompt("c2"));
}

TEST(RegistryTest, ShutdownEndsEveryWatchAndRefusesNewOnes) {
  FakePolls polls;
  Registry registry(&polls, {});
  Recorder a, b;
  ASSERT_TRUE(registry.Subscribe({"u1"}, &a).ok());
  ASSERT_TRUE(registry.Subscribe({"u2"}, &b).ok());
  registry.Shutdown(absl::UnavailableError("bye"));
  ASSERT_TRUE(a.ended.has_value());
  ASSERT_TRUE(b.ended.has_value());
  EXPECT_TRUE(absl::IsUnavailable(*a.ended));
  EXPECT_EQ(polls.removed["u1"], 1);
  EXPECT_EQ(polls.removed["u2"], 1);
  absl::StatusOr<Registry::WatchId> late = registry.Subscribe({"u1"}, &a);
  EXPECT_TRUE(absl::IsUnavailable(late.status()));
  EXPECT_EQ(GetStatusDetails(late.status()).reason, "SHUTTING_DOWN");
}

}  // namespace
}  // namespace leafsvc::watch
