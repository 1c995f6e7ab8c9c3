#include "server/watch/change_history.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/watch/observations.h"

namespace leafsvc::watch {
namespace {

LoggedObservation Entry(uint64_t seq, const std::string& user, std::optional<Observation> previous,
                        Observation observation) {
  LoggedObservation e;
  e.position = {0, seq};
  e.user = user;
  e.previous = std::move(previous);
  e.observation = std::move(observation);
  e.observed = absl::FromUnixSeconds(1000 + seq);
  return e;
}

std::vector<uint64_t> Seqs(const std::vector<const LoggedObservation*>& entries) {
  std::vector<uint64_t> out;
  for (const LoggedObservation* e : entries) out.push_back(e->position.seq);
  return out;
}

TEST(ChangeHistoryTest, KeepsPositionOrderAndDropsDuplicates) {
  ChangeHistory history(10, ChangePosition{});
  EXPECT_TRUE(history.Record(Entry(3, "u1", std::nullopt, Absent())));
  EXPECT_TRUE(history.Record(Entry(1, "u2", std::nullopt, Absent())));
  EXPECT_TRUE(history.Record(Entry(2, "u1", std::nullopt, Present("c", "OK"))));
  EXPECT_FALSE(history.Record(Entry(2, "u1", std::nullopt, Absent())));  // same position
  EXPECT_EQ(history.size(), 3u);
  EXPECT_EQ(Seqs(history.After({0, 0}, {"u1", "u2"})), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(Seqs(history.After({0, 1}, {"u1"})), (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(Seqs(history.After({0, 3}, {"u1", "u2"})), std::vector<uint64_t>{});
  EXPECT_EQ(Seqs(history.After({0, 0}, {"u3"})), std::vector<uint64_t>{});
  // The duplicate did not replace the first.
  EXPECT_EQ(history.After({0, 1}, {"u1"})[0]->observation.kind, Observation::Kind::kPresent);
}

TEST(ChangeHistoryTest, EvictionRaisesTheFloor) {
  ChangeHistory history(3, ChangePosition{});
  for (uint64_t seq = 1; seq <= 5; ++seq) history.Record(Entry(seq, "u1", std::nullopt, Absent()));
  EXPECT_EQ(history.size(), 3u);
  ASSERT_TRUE(history.floor().has_value());
  EXPECT_EQ(*history.floor(), (ChangePosition{0, 2}));
  EXPECT_FALSE(history.CompleteAfter({0, 1}));  // entry 2 is gone
  EXPECT_TRUE(history.CompleteAfter({0, 2}));   // 3, 4, 5 are all here
  EXPECT_EQ(Seqs(history.After({0, 2}, {"u1"})), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_FALSE(history.Record(Entry(1, "u1", std::nullopt, Absent())));  // before the floor
}

TEST(ChangeHistoryTest, NoFloorMeansNothingResumesUntilOneIsSet) {
  ChangeHistory history(2, std::nullopt);
  for (uint64_t seq = 10; seq <= 14; ++seq) {
    history.Record(Entry(seq, "u1", std::nullopt, Absent()));
  }
  EXPECT_FALSE(history.CompleteAfter({0, 13}));
  EXPECT_FALSE(history.floor().has_value());
  // The floor the reader sets is raised past what was evicted meanwhile.
  history.SetFloor({0, 5});
  EXPECT_EQ(*history.floor(), (ChangePosition{0, 12}));
  EXPECT_FALSE(history.CompleteAfter({0, 11}));
  EXPECT_TRUE(history.CompleteAfter({0, 12}));
  // Never lowered; entries older than it are dropped.
  history.SetFloor({0, 14});
  history.SetFloor({0, 1});
  EXPECT_EQ(*history.floor(), (ChangePosition{0, 14}));
  EXPECT_EQ(Seqs(history.After({0, 0}, {"u1"})), (std::vector<uint64_t>{14}));
}

TEST(ChangeHistoryTest, LatestFollowsRecordsAndEvictions) {
  ChangeHistory history(3, ChangePosition{});
  EXPECT_EQ(history.Latest("u1"), nullptr);
  history.Record(Entry(2, "u1", std::nullopt, Absent()));
  history.Record(Entry(1, "u1", std::nullopt, Present("c", "OK")));  // older: not the latest
  history.Record(Entry(3, "u2", std::nullopt, Absent()));
  ASSERT_NE(history.Latest("u1"), nullptr);
  EXPECT_EQ(history.Latest("u1")->position.seq, 2u);
  history.Record(Entry(4, "u2", std::nullopt, Absent()));  // evicts 1
  EXPECT_EQ(history.Latest("u1")->position.seq, 2u);
  history.Record(Entry(5, "u2", std::nullopt, Absent()));  // evicts 2: u1 has none left
  EXPECT_EQ(history.Latest("u1"), nullptr);
  EXPECT_EQ(history.Latest("u2")->position.seq, 5u);
  history.SetFloor({0, 6});
  EXPECT_EQ(history.Latest("u2"), nullptr);
}

TEST(ChangeHistoryTest, ReplayTellsTheChangeAsAWatcherSawIt) {
  Observation failed = Failed();
  failed.credentials.id = "c1";  // the credentials last read, kept by an error state
  failed.credentials.status = "OK";
  struct Case {
    std::optional<Observation> previous;
    Observation observation;
    std::optional<ChangeKind> kind;
  } cases[] = {
      {std::nullopt, Present("c1", "OK"), ChangeKind::kInitial},
      {Absent(), Present("c1", "OK"), ChangeKind::kCreated},
      {Present("c1", "OK"), Present("c1", "UNAUTHENTICATED"), ChangeKind::kStatusChanged},
      {Present("c1", "OK"), Present("c2", "OK"), ChangeKind::kReplaced},
      {Present("c1", "OK"), Absent(), ChangeKind::kDeleted},
      {Present("c1", "OK"), Failed(), ChangeKind::kError},
      {failed, Present("c1", "OK"), ChangeKind::kInitial},
      {failed, Failed(), std::nullopt},
      {Present("c1", "OK"), Present("c1", "OK"), std::nullopt},
  };
  for (const Case& c : cases) {
    LoggedObservation e = Entry(1, "u1", c.previous, c.observation);
    e.source = Source::kAlert;
    std::optional<Change> change = ReplayChange(e);
    ASSERT_EQ(change.has_value(), c.kind.has_value());
    if (!change) continue;
    EXPECT_EQ(change->kind, *c.kind);
    EXPECT_EQ(change->source, Source::kAlert);
    EXPECT_EQ(change->observed, e.observed);
    if (c.previous && c.previous->credentials.id == "c1") {
      ASSERT_TRUE(change->previous.has_value());
      EXPECT_EQ(change->previous->id, "c1");
    }
  }
}

}  // namespace
}  // namespace leafsvc::watch
