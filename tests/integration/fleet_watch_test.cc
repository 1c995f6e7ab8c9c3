// The fleet's watch through the real stack: three replicas (Apps in fleet
// mode), one real Redis, one emulator.
// - Each watched user is read from Leaf by one replica per interval, however
//   many replicas watch it (three islands would read it three times).
// - What the reading replica sees reaches watchers on every replica, once.
// - An alert posted to one replica reaches watchers on all three.
// - A stream that ended resumes on ANOTHER replica with its resume_token
//   and gets exactly the changes it missed (after a cancel, and after its
//   replica was killed); an unknown token gets RESYNC snapshots.
// - Streams closed for their connection's age end UNAVAILABLE, so clients
//   move to other replicas and resume.
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/fleet_harness.h"
#include "tests/integration/watch_stream.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr int kReplicas = 3;

std::string User(int i) { return absl::StrFormat("00000000-0000-4000-8000-%012d", i + 1); }

class FleetWatchTest : public ::testing::Test {
 protected:
  void Start(absl::Duration poll_interval, std::function<void(int, ServerConfig&)> more = nullptr) {
    if (!RedisServer::Available()) GTEST_SKIP() << "no redis-server on this machine";
    auto f = FleetHarness::Start(kReplicas, [poll_interval, more](int i, ServerConfig& c) {
      c.watch_poll_interval = poll_interval;
      c.watch_poll_jitter = absl::ZeroDuration();
      if (more) more(i, c);
    });
    ASSERT_TRUE(f.ok()) << f.status();
    fleet_ = *std::move(f);
    ASSERT_TRUE(WaitFor([&] {
      for (int i = 0; i < kReplicas; ++i) {
        if (!fleet_->RedisUp(i)) return false;
      }
      return true;
    }));
  }

  std::unique_ptr<FleetHarness> fleet_;
};

TEST_F(FleetWatchTest, OneLeafReadPerUserPerIntervalAcrossThreeReplicas) {
  Start(absl::Seconds(1));
  constexpr int kUsers = 6;
  std::vector<std::string> users;
  for (int u = 0; u < kUsers; ++u) {
    users.push_back(User(u));
    fleet_->Create(users.back());
  }
  // Every replica watches every user.
  std::vector<std::unique_ptr<WatchStream>> streams;
  for (int r = 0; r < kReplicas; ++r) {
    streams.push_back(std::make_unique<WatchStream>(fleet_->stub(r), users));
    for (int u = 0; u < kUsers; ++u) {
      std::optional<v1::CredentialsChange> c = streams.back()->Next(absl::Seconds(10));
      ASSERT_TRUE(c.has_value()) << "replica " << r << " gave no snapshot";
      EXPECT_EQ(c->kind(), v1::CHANGE_KIND_INITIAL);
    }
  }
  fleet_->emulator().ClearRequests();
  const absl::Time start = absl::Now();
  absl::SleepFor(absl::Seconds(8));
  const double intervals = absl::ToDoubleSeconds(absl::Now() - start);
  std::map<std::string, int> reads;
  for (const auto& r : fleet_->emulator().Requests()) {
    if (r.method != "GET") continue;
    for (const std::string& u : users) {
      if (r.path.find(u) != std::string::npos) ++reads[u];
    }
  }
  for (const std::string& u : users) {
    std::printf("user %s: %d Leaf reads in %.1f poll intervals by %d replicas\n", u.c_str(),
                reads[u], intervals, kReplicas);
    EXPECT_GE(reads[u], intervals / 2) << "nobody polled " << u;
    // One replica at a time: one read per interval (+1 for a lease changing
    // hands); three islands would read about 3 per interval.
    EXPECT_LE(reads[u], intervals + 2) << u << " was read by more than one replica per interval";
  }
  // Nothing changed: no replica reported anything.
  for (auto& s : streams) EXPECT_FALSE(s->Next(absl::Milliseconds(100)).has_value());
  // The replicas say where their reads came from: Leaf only under the
  // lease, the shared state otherwise.
  double from_leaf = 0, from_redis = 0;
  for (int r = 0; r < kReplicas; ++r) {
    const std::string text = fleet_->app(r).metrics().Text();
    auto sample = [&](const std::string& from) {
      const std::string key = "agleader_fleet_poll_reads_total{from=\"" + from + "\"} ";
      const size_t at = text.find(key);
      return at == std::string::npos ? -1.0 : std::stod(text.substr(at + key.size()));
    };
    ASSERT_GE(sample("leaf"), 0) << "no agleader_fleet_poll_reads_total on replica " << r;
    from_leaf += sample("leaf");
    from_redis += sample("redis");
  }
  std::printf("fleet poll reads: %.0f from Leaf, %.0f from the shared state\n", from_leaf,
              from_redis);
  EXPECT_GT(from_redis, from_leaf) << "two replicas of three should read the shared state";
}

TEST_F(FleetWatchTest, WhatThePollingReplicaSeesReachesEveryReplicaOnce) {
  Start(absl::Seconds(1));
  const std::string user = User(0);
  fleet_->Create(user);
  std::vector<std::unique_ptr<WatchStream>> streams;
  for (int r = 0; r < kReplicas; ++r) {
    streams.push_back(std::make_unique<WatchStream>(fleet_->stub(r), std::vector{user}));
    ASSERT_EQ(streams.back()->Next(absl::Seconds(10))->kind(), v1::CHANGE_KIND_INITIAL);
  }
  // No alert: only a poll can tell, and only one replica polls.
  ASSERT_TRUE(fleet_->emulator().SetCredentialStatus(user, "UNAUTHENTICATED"));
  for (int r = 0; r < kReplicas; ++r) {
    std::optional<v1::CredentialsChange> c = streams[r]->Next(absl::Seconds(10));
    ASSERT_TRUE(c.has_value()) << "replica " << r << " never heard of the change";
    EXPECT_EQ(c->kind(), v1::CHANGE_KIND_STATUS_CHANGED);
    EXPECT_EQ(c->current().leaf_status(), "UNAUTHENTICATED");
  }
  // Once: a few more intervals bring nothing more.
  for (int r = 0; r < kReplicas; ++r) {
    EXPECT_FALSE(streams[r]->Next(absl::Seconds(r == 0 ? 3 : 0.2)).has_value())
        << "replica " << r << " reported the change twice";
  }
}

TEST_F(FleetWatchTest, AnAlertToOneReplicaReachesWatchersOnAllThree) {
  Start(absl::Hours(1));  // only the alert can tell
  const std::string user = User(0);
  fleet_->Create(user);
  std::vector<std::unique_ptr<WatchStream>> streams;
  for (int r = 0; r < kReplicas; ++r) {
    streams.push_back(std::make_unique<WatchStream>(fleet_->stub(r), std::vector{user}));
    ASSERT_EQ(streams.back()->Next(absl::Seconds(10))->kind(), v1::CHANGE_KIND_INITIAL);
  }
  const absl::Time sent = absl::Now();
  ASSERT_TRUE(fleet_->AlertTo(1, user, "UNAUTHENTICATED"));
  for (int r = 0; r < kReplicas; ++r) {
    std::optional<v1::CredentialsChange> c = streams[r]->Next(absl::Seconds(5));
    ASSERT_TRUE(c.has_value()) << "replica " << r << " never heard the alert sent to replica 1";
    EXPECT_EQ(c->kind(), v1::CHANGE_KIND_STATUS_CHANGED);
    std::printf("alert to replica 1 -> watcher on replica %d: %.1f ms\n", r,
                absl::ToDoubleMilliseconds(absl::Now() - sent));
  }
  EXPECT_LT(absl::Now() - sent, absl::Seconds(3));
}

TEST_F(FleetWatchTest, AStreamResumesOnAnotherReplicaWithExactlyWhatItMissed) {
  Start(absl::Seconds(1));
  const std::string user = User(0);
  const std::string other = User(1);
  fleet_->Create(user);
  fleet_->Create(other);
  std::string token;
  {
    WatchStream first(fleet_->stub(1), {user, other});
    for (int i = 0; i < 2; ++i) {
      std::optional<v1::CredentialsChange> c = first.Next(absl::Seconds(10));
      ASSERT_TRUE(c.has_value());
      ASSERT_EQ(c->kind(), v1::CHANGE_KIND_INITIAL);
      token = c->resume_token();
    }
    first.Cancel();
  }
  ASSERT_FALSE(token.empty());
  // While nobody watches on replica 1, the user changes twice; a watcher on
  // replica 0 keeps the user polled.
  WatchStream keeper(fleet_->stub(0), {user});
  ASSERT_EQ(keeper.Next(absl::Seconds(10))->kind(), v1::CHANGE_KIND_INITIAL);
  ASSERT_TRUE(fleet_->emulator().SetCredentialStatus(user, "UNAUTHENTICATED"));
  ASSERT_EQ(keeper.Next(absl::Seconds(10))->kind(), v1::CHANGE_KIND_STATUS_CHANGED);
  ASSERT_TRUE(fleet_->emulator().SetCredentialStatus(user, "MISSING_PERMISSION"));
  ASSERT_EQ(keeper.Next(absl::Seconds(10))->kind(), v1::CHANGE_KIND_STATUS_CHANGED);

  // Resumed on replica 2: the two missed changes, in order, and nothing for
  // the user that did not change.
  WatchStream resumed(fleet_->stub(2), {user, other}, token);
  std::optional<v1::CredentialsChange> a = resumed.Next(absl::Seconds(10));
  std::optional<v1::CredentialsChange> b = resumed.Next(absl::Seconds(10));
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(a->leaf_user_id(), user);
  EXPECT_EQ(a->kind(), v1::CHANGE_KIND_STATUS_CHANGED);
  EXPECT_EQ(a->current().leaf_status(), "UNAUTHENTICATED");
  EXPECT_EQ(b->kind(), v1::CHANGE_KIND_STATUS_CHANGED);
  EXPECT_EQ(b->current().leaf_status(), "MISSING_PERMISSION");
  EXPECT_FALSE(resumed.Next(absl::Seconds(3)).has_value())
      << "a resumed stream got a snapshot or a duplicate";
}

TEST_F(FleetWatchTest, AStreamResumesAfterItsReplicaIsKilled) {
  Start(absl::Seconds(1));
  const std::string user = User(0);
  fleet_->Create(user);
  std::string token;
  {
    WatchStream on_two(fleet_->stub(2), {user});
    std::optional<v1::CredentialsChange> c = on_two.Next(absl::Seconds(10));
    ASSERT_TRUE(c.has_value());
    token = c->resume_token();
    fleet_->Kill(2);
    EXPECT_TRUE(on_two.Ended(absl::Seconds(10)).has_value());
  }
  ASSERT_TRUE(fleet_->emulator().SetCredentialStatus(user, "UNAUTHENTICATED"));
  // The change is seen by whoever polls now: a watcher on replica 0.
  WatchStream keeper(fleet_->stub(0), {user});
  std::optional<v1::CredentialsChange> k = keeper.Next(absl::Seconds(10));
  ASSERT_TRUE(k.has_value());
  if (k->kind() == v1::CHANGE_KIND_INITIAL && k->current().leaf_status() != "UNAUTHENTICATED") {
    ASSERT_EQ(keeper.Next(absl::Seconds(10))->kind(), v1::CHANGE_KIND_STATUS_CHANGED);
  }
  WatchStream resumed(fleet_->stub(1), {user}, token);
  std::optional<v1::CredentialsChange> c = resumed.Next(absl::Seconds(10));
  ASSERT_TRUE(c.has_value()) << "silence after resuming";
  EXPECT_EQ(c->kind(), v1::CHANGE_KIND_STATUS_CHANGED);
  EXPECT_EQ(c->current().leaf_status(), "UNAUTHENTICATED");
  EXPECT_FALSE(resumed.Next(absl::Seconds(2)).has_value());
}

TEST_F(FleetWatchTest, AnUnknownTokenGetsAResyncSnapshotNeverSilence) {
  Start(absl::Seconds(1));
  const std::string user = User(0);
  fleet_->Create(user);
  WatchStream resumed(fleet_->stub(1), {user}, "not-a-token-this-service-issued");
  std::optional<v1::CredentialsChange> c = resumed.Next(absl::Seconds(10));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind(), v1::CHANGE_KIND_RESYNC);
  EXPECT_EQ(c->current().leaf_status(), "OK");
  EXPECT_FALSE(c->resume_token().empty());
}

TEST_F(FleetWatchTest, StreamsEndWithTheirConnectionsAgeAndResumeElsewhere) {
  Start(absl::Seconds(1), [](int i, ServerConfig& c) {
    if (i == 1) {
      c.max_connection_age = absl::Seconds(2);
      c.max_connection_age_grace = absl::Seconds(1);
    }
  });
  const std::string user = User(0);
  fleet_->Create(user);
  WatchStream aging(fleet_->stub(1), {user});
  std::optional<v1::CredentialsChange> c = aging.Next(absl::Seconds(10));
  ASSERT_TRUE(c.has_value());
  std::optional<grpc::Status> ended = aging.Ended(absl::Seconds(15));
  ASSERT_TRUE(ended.has_value()) << "the stream outlived its connection's age";
  EXPECT_EQ(ended->error_code(), grpc::StatusCode::UNAVAILABLE) << ended->error_message();
  WatchStream resumed(fleet_->stub(0), {user}, c->resume_token());
  EXPECT_FALSE(resumed.Next(absl::Seconds(3)).has_value())
      << "nothing changed: a resumed stream owes no snapshot";
  ASSERT_TRUE(fleet_->emulator().SetCredentialStatus(user, "UNAUTHENTICATED"));
  std::optional<v1::CredentialsChange> after = resumed.Next(absl::Seconds(10));
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->kind(), v1::CHANGE_KIND_STATUS_CHANGED);
}

}  // namespace
}  // namespace leafsvc::testing
