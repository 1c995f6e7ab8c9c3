// The in-flight table: a command is taken once, by its reply or by its
// deadline, never both; a reply for a command that timed out finds nothing
// (so it cannot reach another command); expiry goes by deadline order.
#include "server/fleet/inflight_commands.h"

#include "gtest/gtest.h"

namespace leafsvc::fleet {
namespace {

PendingCommand Command(std::uint64_t id, absl::Time deadline) {
  PendingCommand p;
  p.id = id;
  p.name = "GET";
  p.deadline = deadline;
  return p;
}

TEST(InflightCommandsTest, AReplyTakesItsCommandOnce) {
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  InflightCommands table;
  table.Add(Command(1, t0 + absl::Seconds(1)));
  table.Add(Command(2, t0 + absl::Seconds(2)));
  ASSERT_TRUE(table.Take(2).has_value());
  EXPECT_FALSE(table.Take(2).has_value());
  EXPECT_EQ(table.next_deadline(), t0 + absl::Seconds(1));
  EXPECT_EQ(table.TakeExpired(t0 + absl::Seconds(5)).value().id, 1u);
  EXPECT_TRUE(table.empty());
}

TEST(InflightCommandsTest, ALateReplyForAnExpiredCommandFindsNothing) {
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  InflightCommands table;
  table.Add(Command(7, t0 + absl::Milliseconds(500)));
  table.Add(Command(8, t0 + absl::Seconds(3)));
  std::optional<PendingCommand> expired = table.TakeExpired(t0 + absl::Seconds(1));
  ASSERT_TRUE(expired.has_value());
  EXPECT_EQ(expired->id, 7u);
  EXPECT_FALSE(table.TakeExpired(t0 + absl::Seconds(1)).has_value());
  EXPECT_FALSE(table.Take(7).has_value()) << "the late reply of 7 must not be delivered";
  ASSERT_TRUE(table.Take(8).has_value());
  EXPECT_EQ(table.next_deadline(), absl::InfiniteFuture());
}

TEST(InflightCommandsTest, ExpiryGoesByDeadlineAndTakeAllEmpties) {
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  InflightCommands table;
  table.Add(Command(1, t0 + absl::Seconds(3)));
  table.Add(Command(2, t0 + absl::Seconds(1)));
  table.Add(Command(3, t0 + absl::Seconds(2)));
  EXPECT_EQ(table.TakeExpired(t0 + absl::Seconds(2))->id, 2u);
  EXPECT_EQ(table.TakeExpired(t0 + absl::Seconds(2))->id, 3u);
  EXPECT_FALSE(table.TakeExpired(t0 + absl::Seconds(2)).has_value());
  EXPECT_EQ(table.TakeAll().size(), 1u);
  EXPECT_TRUE(table.empty());
  EXPECT_FALSE(table.TakeExpired(t0 + absl::Hours(1)).has_value());
}

}  // namespace
}  // namespace leafsvc::fleet
