// The fleet scenario's pieces that need no processes: how streams are spread
// over the replicas, the alert it posts, the reads-per-interval figure and
// the report's judgement of each figure against its target.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bench/bench_flags.h"
#include "bench/fleet_load.h"
#include "bench/fleet_report.h"
#include "gtest/gtest.h"

namespace bench {
namespace {

TEST(PlanStreamsTest, ThreeHundredStreamsPutEveryUserOnTwoReplicasAndBalanceThem) {
  const std::vector<StreamPlan> plan = PlanStreams(300, 150, 3);
  ASSERT_EQ(plan.size(), 300u);
  std::map<int, std::set<int>> replicas_of;
  std::map<int, int> streams_on;
  for (const StreamPlan& p : plan) {
    ASSERT_GE(p.user, 0);
    ASSERT_LT(p.user, 150);
    ASSERT_GE(p.replica, 0);
    ASSERT_LT(p.replica, 3);
    replicas_of[p.user].insert(p.replica);
    ++streams_on[p.replica];
  }
  ASSERT_EQ(replicas_of.size(), 150u);
  for (const auto& [user, replicas] : replicas_of) EXPECT_EQ(replicas.size(), 2u) << user;
  EXPECT_EQ(streams_on, (std::map<int, int>{{0, 100}, {1, 100}, {2, 100}}));
}

TEST(PlanStreamsTest, UserCountsThatAreNotMultiplesOfThreeStillUseDistinctReplicas) {
  // The naive "stream i on replica i % 3" puts both streams of a user on
  // the same replica whenever users % 3 == 0; each round must shift.
  for (int users : {1, 2, 4, 5, 30, 149, 151}) {
    for (int rounds : {2, 3}) {
      std::map<int, std::set<int>> replicas_of;
      std::map<int, int> streams_of;
      for (const StreamPlan& p : PlanStreams(users * rounds, users, 3)) {
        replicas_of[p.user].insert(p.replica);
        ++streams_of[p.user];
      }
      for (int u = 0; u < users; ++u) {
        EXPECT_EQ(streams_of[u], rounds) << users << " users, user " << u;
        EXPECT_EQ(static_cast<int>(replicas_of[u].size()), rounds) << users << " users, user " << u;
      }
    }
  }
}

TEST(PlanStreamsTest, NoStreamsForMeaninglessCounts) {
  EXPECT_TRUE(PlanStreams(0, 10, 3).empty());
  EXPECT_TRUE(PlanStreams(10, 0, 3).empty());
  EXPECT_TRUE(PlanStreams(10, 10, 0).empty());
}

TEST(AlertBodyTest, IsLeafsAlertForTheStatus) {
  const std::string unauthenticated = AlertBody("cred-1", "UNAUTHENTICATED");
  EXPECT_NE(unauthenticated.find(R"("credentialId":"cred-1")"), std::string::npos);
  EXPECT_NE(unauthenticated.find(R"("status":"UNAUTHENTICATED")"), std::string::npos);
  EXPECT_NE(unauthenticated.find(R"("type":"credentialsUnauthenticated")"), std::string::npos);
  EXPECT_NE(
      AlertBody("cred-1", "MISSING_PERMISSION").find(R"("type":"credentialsLimitedPermission")"),
      std::string::npos);
}

TEST(PerUserPerIntervalTest, DividesByUsersAndIntervals) {
  // 150 users, 120 s at a 30 s interval: 4 intervals; one read each = 1.0.
  EXPECT_DOUBLE_EQ(PerUserPerInterval(600, 150, 120, 30), 1.0);
  // Three replicas each reading every user: 3.0.
  EXPECT_DOUBLE_EQ(PerUserPerInterval(1800, 150, 120, 30), 3.0);
  EXPECT_EQ(PerUserPerInterval(-1, 150, 120, 30), -1);
  EXPECT_EQ(PerUserPerInterval(600, 0, 120, 30), -1);
  EXPECT_EQ(PerUserPerInterval(600, 150, 0, 30), -1);
  EXPECT_EQ(PerUserPerInterval(600, 150, 120, 0), -1);
}

FleetRun SampleRun() {
  FleetRun run;
  run.users = 150;
  run.streams = 300;
  run.seconds = 120;
  run.poll_interval_s = 30;
  run.alert_every_ms = 1000;
  run.requests_per_minute = 1000;
  run.budget_per_replica = 1000;
  run.all_initial_after_s = 2.5;
  run.alerts_sent = 118;
  run.begin.at_s = 0;
  run.end.at_s = 120;
  run.begin.reads = LeafReads{150, 0, 150};
  // 4 sweeps of the 150 users + 118 alert reads: on target (1.0 + 118/600).
  run.end.reads = LeafReads{150 + 118, 4, 150 + 600 + 118};
  run.begin.emulator_stats = R"({"rate_limited_count":0,"max_requests_in_any_minute":150})";
  run.end.emulator_stats = R"({"rate_limited_count":2,"max_requests_in_any_minute":1001})";
  for (int i = 0; i < 3; ++i) {
    run.begin.metrics.push_back("agleader_leaf_requests_total{class=\"poll\"} 10\n");
    run.end.metrics.push_back(
        "agleader_leaf_requests_total{class=\"poll\"} 210\nagleader_fleet_redis_up 1\n"
        "agleader_watch_effective_poll_interval_seconds 30\n");
    ReplicaAlertFigures r;
    r.streams = 100;
    for (int k = 1; k <= 100; ++k) r.latencies_ns.push_back(k * 1000000LL);  // 1..100 ms
    r.by_source["CHANGE_SOURCE_LEAF_ALERT"] = 100;
    run.alerts.push_back(r);
  }
  return run;
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(CountLeafReadsTest, CountsOneUserPerGetAndEveryListedUserPerPage) {
  const std::string requests = R"([
    {"method":"GET","path":"/services/usermanagement/api/users/u1/ag-leader-credentials",
     "query":"","status":200},
    {"method":"GET","path":"/services/usermanagement/api/users/u2/ag-leader-credentials",
     "query":"","status":429},
    {"method":"GET","path":"/services/usermanagement/api/users","query":"page=0&size=1000",
     "status":200},
    {"method":"GET","path":"/services/usermanagement/api/users","query":"size=100&page=1",
     "status":200},
    {"method":"GET","path":"/services/usermanagement/api/users","query":"page=5&size=100",
     "status":200},
    {"method":"GET","path":"/services/usermanagement/api/users","query":"","status":200},
    {"method":"POST","path":"/services/usermanagement/api/users/u3/ag-leader-credentials",
     "query":"","status":200},
    {"method":"GET","path":"/services/usermanagement/api/users/u1/ag-leader-credentials/events",
     "query":"","status":200}
  ])";
  const std::optional<LeafReads> reads = CountLeafReads(requests, 150);
  ASSERT_TRUE(reads.has_value());
  EXPECT_EQ(reads->gets, 1);  // the 429, the POST and the events read nothing
  EXPECT_EQ(reads->pages, 4);
  // 1 + page 0 of 1000 (all 150) + page 1 of 100 (the last 50) + page 5
  // (past the end) + page 0 of Spring's default 20.
  EXPECT_EQ(reads->users, 1 + 150 + 50 + 0 + 20);
  EXPECT_FALSE(CountLeafReads("", 150).has_value());
  EXPECT_FALSE(CountLeafReads(R"({"count":3})", 150).has_value());
  EXPECT_EQ(CountLeafReads("[]", 150)->users, 0);
}

TEST(RenderFleetReportTest, PutsEveryFigureBesideItsTarget) {
  FleetRun run = SampleRun();
  const std::string text = RenderFleetReport(run);
  EXPECT_TRUE(Has(text,
                  "150 users watched by 300 WatchCredentials streams (replica 1: 100, "
                  "replica 2: 100, replica 3: 100; each user on 2 replicas)"))
      << text;
  EXPECT_TRUE(Has(text,
                  "| 1 | 100 | 100 | 50.0 | 99.0 | 100.0 | 0 | CHANGE_SOURCE_LEAF_ALERT "
                  "100 | yes |"))
      << text;
  EXPECT_TRUE(Has(text,
                  "whole fleet: 1.20 (target <= 1.0 + 0.20 for the alerts' reads = 1.20): "
                  "on target\n  (the emulator, in the 120 s measured: 118 GETs of "
                  "ag-leader-credentials + 4 listing pages (sweeps) = 718 user reads)"))
      << text;
  EXPECT_TRUE(Has(text, "replica 1 poll 200 prompted 0")) << text;
  EXPECT_TRUE(Has(text, "max_requests_in_any_minute): 1001 (budget 1000): OVER")) << text;
  EXPECT_TRUE(Has(text, "rate_limited_count): 2 (target 0)")) << text;
  EXPECT_TRUE(Has(text, "agleader_fleet_redis_up): replica 1 1, replica 2 1, replica 3 1")) << text;
  EXPECT_TRUE(Has(text, "--fleet_size_hint=3 on each replica")) << text;
}

TEST(RenderFleetReportTest, ReadsOfEveryReplicaAndMissedAlertsAreOffTarget) {
  FleetRun run = SampleRun();
  run.end.reads = LeafReads{150, 12, 150 + 1800};  // each replica swept every user
  run.alerts[2].missed = 1;
  run.fleet_flags = false;
  run.budget_per_replica = 333;
  const std::string text = RenderFleetReport(run);
  EXPECT_TRUE(Has(text, ": 3.00 (target <= 1.0 + 0.20 for the alerts' reads = 1.20): OVER"))
      << text;
  EXPECT_TRUE(Has(text,
                  "| 3 | 100 | 100 | 50.0 | 99.0 | 100.0 | 1 | CHANGE_SOURCE_LEAF_ALERT "
                  "100 | NO |"))
      << text;
  EXPECT_TRUE(Has(text,
                  "NOT shared: the replicas have no --fleet_size_hint, each was given "
                  "333/min by hand"))
      << text;
}

TEST(RenderFleetReportTest, SlowAlertsAreOffTarget) {
  FleetRun run = SampleRun();
  run.alerts[1].latencies_ns.assign(100, 1500000000LL);  // 1.5 s each
  const std::string text = RenderFleetReport(run);
  EXPECT_TRUE(Has(text, "| 2 | 100 | 100 | 1500.0 | 1500.0 | 1500.0 | 0 |")) << text;
  EXPECT_TRUE(Has(text, "| 1500.0 | 0 | CHANGE_SOURCE_LEAF_ALERT 100 | NO |")) << text;
}

TEST(RenderFleetReportTest, MissingFiguresReadNotAvailableInsteadOfZero) {
  FleetRun run;
  run.users = 150;
  run.streams = 300;
  run.seconds = 120;
  run.poll_interval_s = 30;
  run.end.at_s = 120;
  run.alerts.assign(3, ReplicaAlertFigures{});
  const std::string text = RenderFleetReport(run);
  EXPECT_TRUE(Has(text, "| 1 | 0 | 0 | n/a | n/a | n/a | 0 | none | n/a |")) << text;
  EXPECT_TRUE(Has(text, "whole fleet: n/a (target")) << text;
  EXPECT_TRUE(Has(text, "measured: n/a user reads)")) << text;
  EXPECT_TRUE(Has(text, "max_requests_in_any_minute): n/a (budget")) << text;
  EXPECT_TRUE(Has(text, "replica 1 n/a, replica 2 n/a, replica 3 n/a")) << text;
  EXPECT_TRUE(Has(text, "NOT by the start of the measured window")) << text;
}

bool Parse(std::vector<std::string> args, Flags* f) {
  std::vector<char*> argv;
  static char name[] = "bench";
  argv.push_back(name);
  for (std::string& a : args) argv.push_back(a.data());
  return ParseFlags(static_cast<int>(argv.size()), argv.data(), f);
}

TEST(FleetFlagsTest, TheFleetScenarioNeedsItsBinariesAndTwoStreamsPerUser) {
  Flags f;
  EXPECT_TRUE(Parse({"--scenario=fleet", "--server_bin=s", "--emulator_bin=e", "--fleet_seconds=8",
                     "--fleet_users=30", "--fleet_streams=60", "--redis_bin=/opt/redis-server"},
                    &f));
  EXPECT_EQ(f.fleet_seconds, 8);
  EXPECT_EQ(f.fleet_users, 30);
  EXPECT_EQ(f.fleet_streams, 60);
  EXPECT_EQ(f.redis_bin, "/opt/redis-server");
  Flags defaults;
  ASSERT_TRUE(Parse({"--scenario=fleet", "--server_bin=s", "--emulator_bin=e"}, &defaults));
  // The issue's figures: 300 streams over 150 users, a 1,000/min budget.
  EXPECT_EQ(defaults.fleet_users, 150);
  EXPECT_EQ(defaults.fleet_streams, 300);
  EXPECT_EQ(defaults.fleet_requests_per_minute, 1000);
  Flags g;
  EXPECT_FALSE(Parse({"--scenario=fleet", "--emulator_bin=e"}, &g));
  for (const char* bad :
       {"--fleet_seconds=2", "--fleet_users=0", "--fleet_streams=x", "--fleet_poll_interval_s=0",
        "--fleet_alert_every_ms=", "--fleet_streams=299", "--fleet_nonsense=1"}) {
    Flags h;
    EXPECT_FALSE(Parse({"--scenario=fleet", "--server_bin=s", "--emulator_bin=e", bad}, &h)) << bad;
  }
}

TEST(FleetLoadTest, StopWithoutStartReturns) {
  FleetLoad load(FleetLoadOptions{});
  load.Stop();
  EXPECT_EQ(load.alerts_sent(), 0);
  EXPECT_EQ(load.SendAlert(), "no users");
}

TEST(FleetLoadTest, NoAlertBeforeTheStreamsAreOpen) {
  FleetLoadOptions options;
  options.users = {"u1", "u2"};
  options.targets = {"127.0.0.1:1"};
  FleetLoad load(options);
  EXPECT_EQ(load.SendAlert(), "the streams are not open");
  EXPECT_EQ(load.alerts_sent(), 0);
}

}  // namespace
}  // namespace bench
