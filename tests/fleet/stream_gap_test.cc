// The gap check on hand-made XINFO STREAM answers, and the parser on
// Redis's own.
#include "server/fleet/stream_gap.h"

#include <memory>
#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "server/fleet/redis_client.h"
#include "server/fleet/redis_reply.h"
#include "tests/fleet/redis_harness.h"
#include "tests/support/redis_server.h"

namespace leafsvc::fleet {
namespace {

using ::leafsvc::fleet::testing::Call;
using ::leafsvc::fleet::testing::OptionsFor;
using ::leafsvc::fleet::testing::StateLog;
using ::leafsvc::fleet::testing::UpClient;
using ::leafsvc::testing::RedisServer;
using ::leafsvc::watch::ChangePosition;

ChangePosition Pos(const std::string& id) { return *ChangePosition::Parse(id); }

StreamInfo Info(std::optional<ChangePosition> first, ChangePosition last_generated,
                std::int64_t added, std::int64_t length,
                ChangePosition max_deleted = ChangePosition{}) {
  StreamInfo i;
  i.exists = true;
  i.first_entry = first;
  i.last_generated = last_generated;
  i.entries_added = added;
  i.length = length;
  i.max_deleted = max_deleted;
  return i;
}

TEST(GapFloorTest, AStreamGoneLosesWhatFollowedTheLastEntry) {
  EXPECT_EQ(GapFloor(StreamInfo{}, {0, 0}, 0), std::nullopt) << "nothing ever seen";
  EXPECT_EQ(GapFloor(StreamInfo{}, {5, 2}, 3), (ChangePosition{5, 3}));
}

TEST(GapFloorTest, IdsThatWentBackAreANewStream) {
  EXPECT_EQ(GapFloor(Info(ChangePosition{2, 0}, {3, 0}, 1, 1), {5, 0}, 9), (ChangePosition{5, 1}));
}

TEST(GapFloorTest, WithTheLastEntryStillThereOnlyXdelLosesAnything) {
  // Trimming removes the oldest first: nothing after an entry still there.
  EXPECT_EQ(GapFloor(Info(ChangePosition{1, 0}, {9, 0}, 50, 9, {4, 0}), {5, 0}, std::nullopt),
            std::nullopt);
  EXPECT_EQ(GapFloor(Info(ChangePosition{1, 0}, {9, 0}, 50, 9, {6, 0}), {5, 0}, std::nullopt),
            (ChangePosition{6, 1}));
}

TEST(GapFloorTest, WithTheLastEntryGoneTheCountsDecide) {
  const std::optional<ChangePosition> first = ChangePosition{7, 0};
  // 10 added, 5 held: the 5 removed are ours.
  EXPECT_EQ(GapFloor(Info(first, {9, 0}, 10, 5), {5, 0}, 5), std::nullopt);
  // One more removed than we saw: lost; one fewer: another stream.
  EXPECT_EQ(GapFloor(Info(first, {9, 0}, 10, 5), {5, 0}, 4), first);
  EXPECT_EQ(GapFloor(Info(first, {9, 0}, 10, 5), {5, 0}, 6), first);
  // Unknown counts: the worst.
  EXPECT_EQ(GapFloor(Info(first, {9, 0}, 10, 5), {5, 0}, std::nullopt), first);
  StreamInfo old_redis = Info(first, {9, 0}, 10, 5);
  old_redis.entries_added.reset();
  EXPECT_EQ(GapFloor(old_redis, {5, 0}, 5), first);
  // Emptied: complete only after its last id, unless all removed were ours.
  EXPECT_EQ(GapFloor(Info(std::nullopt, {9, 0}, 7, 0), {5, 0}, 5), (ChangePosition{9, 1}));
  EXPECT_EQ(GapFloor(Info(std::nullopt, {9, 0}, 7, 0), {9, 0}, 7), std::nullopt);
  // Nothing seen, the stream created since: lost only if something was removed.
  EXPECT_EQ(GapFloor(Info(ChangePosition{1, 0}, {3, 0}, 3, 3), {0, 0}, 0), std::nullopt);
  EXPECT_EQ(GapFloor(Info(ChangePosition{2, 0}, {3, 0}, 3, 2), {0, 0}, 0), (ChangePosition{2, 0}));
}

TEST(ParseStreamInfoTest, RefusesWhatIsNotAStreamsInfo) {
  absl::StatusOr<StreamInfo> missing = ParseStreamInfo(RedisReply::Error("ERR no such key"));
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->exists);
  EXPECT_EQ(ParseStreamInfo(RedisReply::Error("WRONGTYPE Operation against a key")).status().code(),
            absl::StatusCode::kInternal);
  EXPECT_FALSE(ParseStreamInfo(RedisReply::Status("OK")).ok());
  EXPECT_FALSE(ParseStreamInfo(RedisReply::Array({RedisReply::String("length")})).ok());
  EXPECT_FALSE(ParseStreamInfo(RedisReply::Array({RedisReply::String("last-generated-id"),
                                                  RedisReply::String("x-1")}))
                   .ok());
}

TEST(ParseStreamInfoTest, ParsesRedisOwnAnswer) {
  SKIP_WITHOUT_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.Start().ok());
  StateLog states;
  std::unique_ptr<RedisClient> admin = UpClient(OptionsFor(server), &states);
  ASSERT_NE(admin, nullptr);
  const std::string kKey = "s";
  auto xadd = [&] { return Call(*admin, {"XADD", kKey, "*", "f", "v"})->str; };
  const std::string a = xadd();
  const std::string b = xadd();
  const std::string c = xadd();
  ASSERT_EQ(*Call(*admin, {"XDEL", kKey, b}), RedisReply::Integer(1));
  absl::StatusOr<RedisReply> r = Call(*admin, {"XINFO", "STREAM", kKey});
  ASSERT_TRUE(r.ok());
  absl::StatusOr<StreamInfo> info = ParseStreamInfo(*r);
  ASSERT_TRUE(info.ok()) << info.status() << " " << r->DebugString();
  EXPECT_TRUE(info->exists);
  EXPECT_EQ(info->length, 2);
  EXPECT_EQ(info->entries_added, 3);
  EXPECT_EQ(info->first_entry, Pos(a));
  EXPECT_EQ(info->last_generated, Pos(c));
  EXPECT_EQ(info->max_deleted, Pos(b));
  r = Call(*admin, {"XINFO", "STREAM", "no-such-stream"});
  ASSERT_TRUE(r.ok());
  info = ParseStreamInfo(*r);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->exists);
}

}  // namespace
}  // namespace leafsvc::fleet
