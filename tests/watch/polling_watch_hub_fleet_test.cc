// The hub's fleet hooks, called as the change stream's reader and the
// fleet's fetch will: OnLogged, SetHistoryFloor, OnResult with versions.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "server/watch/polling_watch_hub.h"
#include "server/watch/resume_token.h"
#include "tests/watch/hub_fakes.h"
#include "tests/watch/observations.h"

namespace leafsvc::watch {
namespace {

HubOptions FleetOptions(FakeClock& clock) {
  HubOptions o = Options(clock);
  o.log_id = "fleet:test";
  o.fleet = true;
  return o;
}

LoggedObservation Logged(uint64_t ms, const std::string& user, uint64_t version,
                         std::optional<Observation> previous, Observation observation,
                         uint64_t known_since_ms) {
  LoggedObservation e;
  e.position = {ms, 0};
  e.user = user;
  e.previous = std::move(previous);
  e.observation = std::move(observation);
  e.observation.version = version;
  e.observation.position = e.position;
  e.observation.known_since = ChangePosition{known_since_ms, 0};
  e.observed = absl::FromUnixMillis(ms);
  return e;
}

std::string FleetToken(uint64_t ms) { return EncodeResumeToken({"fleet:test", {ms, 0}}); }

TEST(HubFleetTest, LoggedEntriesReachWatchersOnceWithTheirPosition) {
  FakePolls polls;
  FakeClock clock;
  PollingWatchHub hub(&polls, FleetOptions(clock));
  Recorder a;
  ASSERT_TRUE(hub.Subscribe({"u1"}, &a).ok());
  hub.OnLogged(Logged(100, "u1", 1, std::nullopt, Present("c1", "OK"), 100));
  hub.OnLogged(Logged(100, "u1", 1, std::nullopt, Present("c1", "OK"), 100));  // again
  hub.OnLogged(Logged(200, "u1", 2, Present("c1", "OK"), Absent(), 100));
  EXPECT_EQ(a.kinds(), (Kinds{{"u1", ChangeKind::kInitial}, {"u1", ChangeKind::kDeleted}}));
  EXPECT_EQ(a.seen[0].token, FleetToken(100));
  EXPECT_EQ(a.seen[1].token, FleetToken(200));
  // A read of the shared state no newer than what was applied: ignored.
  Observation stale = Present("c1", "OK");
  stale.version = 1;
  hub.OnResult("u1", stale, Source::kPoll);
  Observation same = Absent();
  same.version = 2;
  hub.OnResult("u1", same, Source::kPoll);
  EXPECT_EQ(a.seen.size(), 2u);
  // A newer one with its position: that position is its token, and the
  // stream's later copy of it is not told twice.
  Observation newer = Present("c2", "OK");
  newer.version = 3;
  newer.position = ChangePosition{300, 0};
  newer.known_since = ChangePosition{100, 0};
  hub.OnResult("u1", newer, Source::kAlert);
  hub.OnLogged(Logged(300, "u1", 3, Absent(), Present("c2", "OK"), 100));
  EXPECT_EQ(a.kinds().back(), std::make_pair(std::string("u1"), ChangeKind::kCreated));
  EXPECT_EQ(a.seen.size(), 3u);
  EXPECT_EQ(a.seen[2].token, FleetToken(300));
}

TEST(HubFleetTest, AfterALocalReadTheSharedStateIsAppliedAgainEvenAtTheSameVersion) {
  // Redis paused: this replica read alone (version 0) and saw a status the
  // shared record never held. Once Redis answers, the shared record (an
  // unchanged version: Leaf is back to what it held) must win again.
  FakePolls polls;
  FakeClock clock;
  PollingWatchHub hub(&polls, FleetOptions(clock));
  Recorder a;
  ASSERT_TRUE(hub.Subscribe({"u1"}, &a).ok());
  hub.OnLogged(Logged(100, "u1", 5, std::nullopt, Present("c1", "OK"), 100));
  hub.OnResult("u1", Present("c1", "MISSING_PERMISSION"), Source::kPoll);  // version 0
  Observation shared = Present("c1", "OK");
  shared.version = 5;
  hub.OnResult("u1", shared, Source::kPoll);
  EXPECT_EQ(a.kinds(), (Kinds{{"u1", ChangeKind::kInitial},
                              {"u1", ChangeKind::kStatusChanged},
                              {"u1", ChangeKind::kStatusChanged}}));
}

TEST(HubFleetTest, ResumesResyncUntilTheFloorIsSetThenReplay) {
  FakePolls polls;
  FakeClock clock;
  PollingWatchHub hub(&polls, FleetOptions(clock));
  Recorder keeper;
  ASSERT_TRUE(hub.Subscribe({"u1"}, &keeper).ok());
  hub.OnLogged(Logged(100, "u1", 1, std::nullopt, Present("c1", "OK"), 100));
  // An entry for a user nobody here watches is kept for resumes too.
  hub.OnLogged(Logged(150, "u2", 4, Present("c2", "OK"), Absent(), 50));
  hub.OnLogged(Logged(200, "u1", 2, Present("c1", "OK"), Present("c1", "EXPIRED"), 100));
  {
    Recorder b;  // a stream from another replica, token 100
    const WatchId ib = *hub.Subscribe({"u1"}, &b, "", FleetToken(100));
    EXPECT_EQ(b.kinds(), (Kinds{{"u1", ChangeKind::kResync}}));  // no floor yet
    hub.Unsubscribe(ib);
  }
  hub.SetHistoryFloor({90, 0});
  Recorder c;
  ASSERT_TRUE(hub.Subscribe({"u1"}, &c, "", FleetToken(100)).ok());
  EXPECT_EQ(c.kinds(), (Kinds{{"u1", ChangeKind::kStatusChanged}}));
  EXPECT_EQ(c.seen[0].token, FleetToken(200));
  // Older than the floor: resync.
  Recorder d;
  ASSERT_TRUE(hub.Subscribe({"u1"}, &d, "", FleetToken(80)).ok());
  EXPECT_EQ(d.kinds(), (Kinds{{"u1", ChangeKind::kResync}}));
  // u2 becomes watched here: its state is known once read from the log's
  // record; a token after its known_since replays from the history.
  Recorder e;
  ASSERT_TRUE(hub.Subscribe({"u2"}, &e).ok());
  Observation stored = Absent();
  stored.version = 4;
  stored.known_since = ChangePosition{50, 0};
  hub.OnResult("u2", stored, Source::kInitial);
  EXPECT_EQ(e.kinds(), (Kinds{{"u2", ChangeKind::kInitial}}));
  Recorder f;
  ASSERT_TRUE(hub.Subscribe({"u2"}, &f, "", FleetToken(120)).ok());
  EXPECT_EQ(f.kinds(), (Kinds{{"u2", ChangeKind::kDeleted}}));
}

TEST(HubFleetTest, AReplicaThatNeverWatchedTheUserResumesFromTheLog) {
  FakePolls polls;
  FakeClock clock;
  PollingWatchHub hub(&polls, FleetOptions(clock));
  hub.SetHistoryFloor({0, 0});
  // Another replica watched u1; this one only tailed the stream.
  hub.OnLogged(Logged(100, "u1", 1, std::nullopt, Present("c1", "OK"), 100));
  hub.OnLogged(Logged(200, "u1", 2, Present("c1", "OK"), Present("c1", "EXPIRED"), 100));
  hub.OnLogged(Logged(300, "u1", 3, Present("c1", "EXPIRED"), Absent(), 100));
  Recorder resumed;
  ASSERT_TRUE(hub.Subscribe({"u1"}, &resumed, "", FleetToken(100)).ok());
  EXPECT_EQ(resumed.kinds(),
            (Kinds{{"u1", ChangeKind::kStatusChanged}, {"u1", ChangeKind::kDeleted}}));
  // The first read here only confirms the shared state: nothing more.
  Observation stored = Absent();
  stored.version = 3;
  stored.known_since = ChangePosition{100, 0};
  hub.OnResult("u1", stored, Source::kInitial);
  EXPECT_EQ(resumed.seen.size(), 2u);
  // A new watch starts from the log's state at once.
  Recorder fresh;
  ASSERT_TRUE(hub.Subscribe({"u1"}, &fresh).ok());
  EXPECT_EQ(fresh.kinds(), (Kinds{{"u1", ChangeKind::kInitial}}));
  EXPECT_EQ(fresh.seen[0].credential, "");
  hub.OnLogged(Logged(400, "u1", 4, Absent(), Present("c2", "OK"), 100));
  EXPECT_EQ(resumed.kinds().back(), std::make_pair(std::string("u1"), ChangeKind::kCreated));
  EXPECT_EQ(fresh.kinds().back(), std::make_pair(std::string("u1"), ChangeKind::kCreated));
}

TEST(HubFleetTest, AReadOutsideTheLogMakesTheUserResync) {
  FakePolls polls;
  FakeClock clock;
  PollingWatchHub hub(&polls, FleetOptions(clock));
  hub.SetHistoryFloor({0, 0});
  Recorder a;
  ASSERT_TRUE(hub.Subscribe({"u1"}, &a).ok());
  hub.OnLogged(Logged(100, "u1", 1, std::nullopt, Present("c1", "OK"), 100));
  hub.OnResult("u1", Absent(), Source::kPoll);  // version 0: Redis out of reach
  ASSERT_EQ(a.seen.size(), 2u);
  std::optional<ResumePoint> local = DecodeResumeToken(a.seen[1].token);
  ASSERT_TRUE(local.has_value());
  EXPECT_NE(local->log_id, "fleet:test");
  Recorder b;
  ASSERT_TRUE(hub.Subscribe({"u1"}, &b, "", FleetToken(100)).ok());
  EXPECT_EQ(b.kinds(), (Kinds{{"u1", ChangeKind::kResync}}));
  Recorder c;
  ASSERT_TRUE(hub.Subscribe({"u1"}, &c, "", a.seen[1].token).ok());
  EXPECT_EQ(c.kinds(), (Kinds{{"u1", ChangeKind::kResync}}));
}

}  // namespace
}  // namespace leafsvc::watch
