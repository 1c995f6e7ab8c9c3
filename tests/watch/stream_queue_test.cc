#include "server/watch/stream_queue.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace leafsvc::watch {
namespace {

Change Of(ChangeKind kind) {
  Change c;
  c.kind = kind;
  return c;
}

std::vector<std::pair<std::string, ChangeKind>> Drain(StreamQueue& q) {
  std::vector<std::pair<std::string, ChangeKind>> out;
  while (const StreamQueue::Entry* e = q.Front()) {
    out.emplace_back(e->user, e->change.kind);
    q.Pop();
  }
  return out;
}

using Sent = std::vector<std::pair<std::string, ChangeKind>>;

TEST(StreamQueueTest, LaterChangesWaitForEveryUsersFirstMessage) {
  StreamQueue q({"a", "b"}, 100);
  ASSERT_TRUE(q.Push("a", Of(ChangeKind::kInitial)));
  ASSERT_TRUE(q.Push("a", Of(ChangeKind::kStatusChanged)));  // b has had nothing yet
  EXPECT_EQ(Drain(q), (Sent{{"a", ChangeKind::kInitial}}));
  ASSERT_TRUE(q.Push("b", Of(ChangeKind::kError)));
  ASSERT_TRUE(q.Push("b", Of(ChangeKind::kInitial)));
  EXPECT_EQ(Drain(q), (Sent{{"b", ChangeKind::kError},
                            {"a", ChangeKind::kStatusChanged},
                            {"b", ChangeKind::kInitial}}));
}

TEST(StreamQueueTest, MoreThanTheLimitWaitingIsTooSlow) {
  StreamQueue q({"a"}, 3);
  EXPECT_TRUE(q.Push("a", Of(ChangeKind::kInitial)));
  EXPECT_TRUE(q.Push("a", Of(ChangeKind::kStatusChanged)));
  EXPECT_TRUE(q.Push("a", Of(ChangeKind::kStatusChanged)));
  EXPECT_FALSE(q.Push("a", Of(ChangeKind::kStatusChanged)));
  EXPECT_EQ(q.waiting(), 4u);
}

TEST(StreamQueueTest, HeldChangesCountTowardsTheLimit) {
  StreamQueue q({"a", "b"}, 2);
  EXPECT_TRUE(q.Push("a", Of(ChangeKind::kInitial)));
  EXPECT_TRUE(q.Push("a", Of(ChangeKind::kDeleted)));
  EXPECT_FALSE(q.Push("a", Of(ChangeKind::kCreated)));
}

TEST(StreamQueueTest, ClearKeepsOnlyTheChangeBeingSent) {
  StreamQueue q({"a"}, 10);
  q.Push("a", Of(ChangeKind::kInitial));
  q.Push("a", Of(ChangeKind::kStatusChanged));
  q.Clear(/*keep_front=*/true);
  EXPECT_EQ(q.waiting(), 1u);
  EXPECT_EQ(q.Front()->change.kind, ChangeKind::kInitial);
  q.Clear(/*keep_front=*/false);
  EXPECT_EQ(q.Front(), nullptr);
}

}  // namespace
}  // namespace leafsvc::watch
