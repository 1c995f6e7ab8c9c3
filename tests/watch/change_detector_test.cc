#include "server/watch/change_detector.h"

#include <gtest/gtest.h>

#include <vector>

#include "server/errors/status_details.h"
#include "server/leaf/leaf_errors.h"
#include "tests/watch/observations.h"

namespace leafsvc::watch {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

TEST(ChangeDetectorTest, FirstReadIsInitialAndSnapshotRepeatsIt) {
  ChangeDetector d;
  EXPECT_FALSE(d.Snapshot().has_value());
  std::optional<Change> c = d.Observe(Present("c1", "OK"), Source::kInitial, kNow);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind, ChangeKind::kInitial);
  EXPECT_FALSE(c->previous.has_value());
  ASSERT_TRUE(c->current.has_value());
  EXPECT_EQ(c->current->id, "c1");
  EXPECT_EQ(c->observed, kNow);
  std::optional<Change> s = d.Snapshot();
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->kind, ChangeKind::kInitial);
  EXPECT_EQ(s->source, Source::kInitial);
  EXPECT_EQ(s->current->status, "OK");
}

TEST(ChangeDetectorTest, ReportsEachKindOfChangeOnce) {
  ChangeDetector d;
  d.Observe(Absent(), Source::kInitial, kNow);
  EXPECT_FALSE(d.Observe(Absent(), Source::kPoll, kNow).has_value());

  std::optional<Change> c = d.Observe(Present("c1", "OK"), Source::kPoll, kNow);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind, ChangeKind::kCreated);
  EXPECT_FALSE(d.Observe(Present("c1", "OK"), Source::kPoll, kNow).has_value());

  c = d.Observe(Present("c1", "UNAUTHENTICATED"), Source::kAlert, kNow);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind, ChangeKind::kStatusChanged);
  EXPECT_EQ(c->source, Source::kAlert);
  EXPECT_EQ(c->previous->status, "OK");
  EXPECT_EQ(c->current->status, "UNAUTHENTICATED");

  c = d.Observe(Present("c2", "OK"), Source::kPoll, kNow);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind, ChangeKind::kReplaced);
  EXPECT_EQ(c->previous->id, "c1");
  EXPECT_EQ(c->current->id, "c2");

  c = d.Observe(Absent(), Source::kPoll, kNow);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind, ChangeKind::kDeleted);
  EXPECT_EQ(c->previous->id, "c2");
  EXPECT_FALSE(c->current.has_value());
}

TEST(ChangeDetectorTest, OtherFieldsChangingIsNotAChange) {
  ChangeDetector d;
  d.Observe(Present("c1", "OK"), Source::kInitial, kNow);
  Observation refreshed = Present("c1", "OK");
  refreshed.credentials.created_time = absl::FromUnixSeconds(1700000000);  // not id or status
  EXPECT_FALSE(d.Observe(refreshed, Source::kPoll, kNow).has_value());
}

TEST(ChangeDetectorTest, OneErrorPerOutageThenInitialWithLastKnown) {
  ChangeDetector d;
  d.Observe(Present("c1", "OK"), Source::kInitial, kNow);
  std::optional<Change> c = d.Observe(Failed(), Source::kPoll, kNow);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind, ChangeKind::kError);
  EXPECT_TRUE(absl::IsUnavailable(c->error));
  EXPECT_EQ(c->previous->id, "c1");
  EXPECT_FALSE(d.Observe(Failed(), Source::kPoll, kNow).has_value());
  EXPECT_EQ(d.Snapshot()->kind, ChangeKind::kError);

  c = d.Observe(Present("c1", "OK"), Source::kPoll, kNow);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind, ChangeKind::kInitial);
  EXPECT_EQ(c->previous->id, "c1");
  EXPECT_EQ(c->current->id, "c1");
}

// A detector restored from another's State() judges the next read exactly
// as the original does (what telling a recorded change again relies on).
TEST(ChangeDetectorTest, RestoredFromStateJudgesLikeTheOriginal) {
  const std::vector<Observation> states = {Present("c1", "OK"), Absent(), Failed()};
  const std::vector<Observation> nexts = {Present("c1", "OK"), Present("c1", "EXPIRED"),
                                          Present("c2", "OK"), Absent(), Failed()};
  EXPECT_FALSE(ChangeDetector().State().has_value());
  EXPECT_FALSE(ChangeDetector::Restore(std::nullopt, kNow).known());
  for (const Observation& before_error : {Present("c1", "OK"), Absent()}) {
    for (const Observation& state : states) {
      for (const Observation& next : nexts) {
        ChangeDetector original;
        original.Observe(before_error, Source::kInitial, kNow);
        original.Observe(state, Source::kPoll, kNow);
        ChangeDetector restored = ChangeDetector::Restore(original.State(), kNow);
        EXPECT_TRUE(restored.known());
        std::optional<Change> a = original.Observe(next, Source::kPoll, kNow);
        std::optional<Change> b = restored.Observe(next, Source::kPoll, kNow);
        ASSERT_EQ(a.has_value(), b.has_value());
        if (!a) continue;
        EXPECT_EQ(a->kind, b->kind);
        EXPECT_EQ(a->previous.has_value(), b->previous.has_value());
        if (a->previous && b->previous) {
          EXPECT_EQ(a->previous->id, b->previous->id);
        }
        EXPECT_EQ(a->current.has_value(), b->current.has_value());
      }
    }
  }
}

TEST(ObservationTest, OnlyCredentialsNotFoundMeansAbsent) {
  StatusDetails d;
  d.reason = std::string(leaf::kReasonCredentialsNotFound);
  EXPECT_EQ(Observation::FromResult(MakeStatus(absl::StatusCode::kNotFound, "none", d)).kind,
            Observation::Kind::kAbsent);
  d.reason = std::string(leaf::kReasonLeafUserNotFound);
  EXPECT_EQ(Observation::FromResult(MakeStatus(absl::StatusCode::kNotFound, "no user", d)).kind,
            Observation::Kind::kError);
  leaf::ProviderCredentials creds;
  creds.id = "c9";
  Observation o = Observation::FromResult(creds);
  EXPECT_EQ(o.kind, Observation::Kind::kPresent);
  EXPECT_EQ(o.credentials.id, "c9");
}

}  // namespace
}  // namespace leafsvc::watch
