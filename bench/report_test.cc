// Issue 23's parts of the report: the medians over rounds, the targets
// against the Go peer, the idle watchers' figures and the flags they use.
#include "bench/report.h"

#include <set>
#include <string>
#include <vector>

#include "bench/bench_flags.h"
#include "bench/idle_watch_load.h"
#include "bench/report_compare.h"
#include "bench/report_format.h"
#include "bench/report_idle.h"
#include "bench/report_json.h"
#include "bench/report_rounds.h"
#include "bench/report_table.h"
#include "bench/stalled_stream.h"
#include "gtest/gtest.h"

namespace bench {
namespace {

RunRecord MakeRun(const std::string& mode, int c, int channels, double rps, double p50_us,
                  std::int64_t requests, double cpu_s, std::int64_t hwm_kb = 20 * 1024) {
  RunRecord r;
  r.mode = mode;
  r.concurrency = c;
  r.channels = channels;
  r.rps = rps;
  r.latency.p50_us = p50_us;
  r.requests = requests;
  r.seconds = 1;
  r.proc_cpu_s = cpu_s;
  r.service_cpu_s = cpu_s;
  r.proc_hwm_kb = hwm_kb;
  r.service_hwm_kb = hwm_kb;
  return r;
}

const Target* Find(const std::vector<Target>& targets, const std::string& name) {
  for (const Target& t : targets) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

TEST(MedianOfTest, MiddleValueOrMeanOfTheTwoIgnoringUnmeasured) {
  EXPECT_DOUBLE_EQ(MedianOf({3, 1, 2}), 2);
  EXPECT_DOUBLE_EQ(MedianOf({4, 1, 2, 3}), 2.5);
  EXPECT_DOUBLE_EQ(MedianOf({-1, 5, -1}), 5);
  EXPECT_DOUBLE_EQ(MedianOf({-1, -1}), -1);
  EXPECT_DOUBLE_EQ(MedianOf({}), -1);
}

TEST(MedianOfRoundsTest, OneRecordPerModeConcurrencyAndChannelsWithMedianFigures) {
  std::vector<RunRecord> rounds;
  // Interleaved as the driver runs them: round 1 of both, then 2, then 3.
  const double rps[] = {1000, 3000, 2000};
  const std::int64_t requests[] = {100, 200, 300};
  // CPU per request 100 us, 50 us, 300 us: the median is 100 us, although
  // the median CPU (0.03 s) over the median count (200) would be 150 us.
  const double cpu[] = {0.01, 0.01, 0.09};
  for (int i = 0; i < 3; ++i) {
    RunRecord a = MakeRun("through", 16, 1, rps[i], 100.0 * (i + 1), requests[i], cpu[i]);
    a.round = i + 1;
    a.errors = 1;
    a.proc_syscalls = 10.0 * requests[i];  // 10 a request every round
    a.proc_ctx_switches = 2 * requests[i];
    a.service_upstream_connections = 60 + i;
    rounds.push_back(a);
    RunRecord b = MakeRun("go", 16, 1, 5000, 50, 500, 0.01);
    b.round = i + 1;
    rounds.push_back(b);
  }
  const std::vector<RunRecord> m = MedianOfRounds(rounds);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].mode, "through");
  EXPECT_EQ(m[1].mode, "go");
  EXPECT_EQ(m[0].round, 0);
  EXPECT_DOUBLE_EQ(m[0].rps, 2000);
  EXPECT_DOUBLE_EQ(m[0].latency.p50_us, 200);
  EXPECT_EQ(m[0].requests, 200);
  EXPECT_NEAR(PerRequestUs(m[0].proc_cpu_s, m[0].requests), 100, 1e-9);
  EXPECT_NEAR(PerRequestUs(m[0].service_cpu_s, m[0].requests), 100, 1e-9);
  EXPECT_NEAR(m[0].proc_syscalls / m[0].requests, 10, 1e-9);
  EXPECT_EQ(m[0].proc_ctx_switches, 400);
  EXPECT_EQ(m[0].errors, 3);                         // summed over the rounds
  EXPECT_EQ(m[0].service_upstream_connections, 62);  // the most
  EXPECT_DOUBLE_EQ(m[0].upstream_cpu_s, -1);         // never measured stays so
  EXPECT_DOUBLE_EQ(m[1].rps, 5000);
}

Report WithGo(double cpu_ratio, double rps_ratio, double p50_ratio, std::int64_t hwm_kb) {
  Report r;
  for (int c : {1, 16, 64}) {
    for (int ch : {1, 4}) {
      r.runs.push_back(MakeRun("go", c, ch, 10000, 200, 10000, 0.5));
      r.runs.push_back(MakeRun("through", c, ch, 10000 * rps_ratio, 200 * p50_ratio, 10000,
                               0.5 * cpu_ratio, hwm_kb));
    }
  }
  return r;
}

TEST(Issue23TargetsTest, EveryTargetAgainstGoHasALineWithTheMeasuredRatio) {
  const std::vector<Target> t = EvaluateTargets(WithGo(0.9, 1.1, 1.2, 30 * 1024));
  for (const char* name :
       {"CPU/request service/Go at C=16, 1 ch", "CPU/request service/Go at C=16, 4 ch",
        "CPU/request service/Go at C=64, 1 ch", "CPU/request service/Go at C=64, 4 ch"}) {
    const Target* cpu = Find(t, name);
    ASSERT_NE(cpu, nullptr) << name;
    EXPECT_TRUE(cpu->evaluated && cpu->met) << name;
    EXPECT_EQ(cpu->limit, "<= 1.00x");
    EXPECT_EQ(cpu->measured.rfind("0.90x", 0), 0u) << cpu->measured;
  }
  for (const char* name : {"req/s service/Go at C=64, 1 ch", "req/s service/Go at C=64, 4 ch"}) {
    const Target* rps = Find(t, name);
    ASSERT_NE(rps, nullptr) << name;
    EXPECT_TRUE(rps->evaluated && rps->met);
    EXPECT_EQ(rps->limit, ">= 1.00x");
  }
  const Target* p50 = Find(t, "p50 service/Go at C=1, 1 ch");
  ASSERT_NE(p50, nullptr);
  EXPECT_TRUE(p50->evaluated);
  EXPECT_FALSE(p50->met);
  const Target* rss = Find(t, "service peak RSS (VmHWM) at C=64");
  ASSERT_NE(rss, nullptr);
  EXPECT_TRUE(rss->evaluated);
  EXPECT_FALSE(rss->met);
  EXPECT_EQ(rss->measured.rfind("30.0 MB", 0), 0u) << rss->measured;
  // Issue 12's superseded targets are gone.
  for (const Target& x : t) {
    EXPECT_EQ(x.name.find("floor"), std::string::npos) << x.name;
    EXPECT_EQ(x.limit.find("0.60x"), std::string::npos) << x.name;
  }
}

TEST(Issue23TargetsTest, SlowerThanGoIsNotMet) {
  const std::vector<Target> t = EvaluateTargets(WithGo(1.2, 0.8, 0.9, 20 * 1024));
  EXPECT_FALSE(Find(t, "CPU/request service/Go at C=16, 1 ch")->met);
  EXPECT_FALSE(Find(t, "req/s service/Go at C=64, 4 ch")->met);
  EXPECT_TRUE(Find(t, "p50 service/Go at C=1, 1 ch")->met);
  EXPECT_TRUE(Find(t, "service peak RSS (VmHWM) at C=64")->met);
}

// The peak RSS line also says how much of it was anonymous memory, beside
// the Go peer's, when the windows sampled it; the table has its column.
TEST(Issue23TargetsTest, ThePeakRssLineGivesTheAnonymousShareBesideGos) {
  Report r = WithGo(0.8, 1.2, 0.9, 26 * 1024);
  for (RunRecord& run : r.runs) run.proc_anon_peak_kb = run.mode == "go" ? 8 * 1024 : 6 * 1024;
  const Target* rss = Find(EvaluateTargets(r), "service peak RSS (VmHWM) at C=64");
  ASSERT_NE(rss, nullptr);
  EXPECT_NE(rss->measured.find("anonymous 6.0 MB vs Go 8.0 MB (0.75x, 1 ch)"), std::string::npos)
      << rss->measured;
  const std::string table = RenderComparison(r);
  EXPECT_NE(table.find("anon MB"), std::string::npos) << table;
  EXPECT_NE(table.find("0.75"), std::string::npos) << table;
  // Not sampled (older results): nothing is claimed.
  const Target* plain =
      Find(EvaluateTargets(WithGo(0.8, 1.2, 0.9, 26 * 1024)), "service peak RSS (VmHWM) at C=64");
  EXPECT_EQ(plain->measured.find("anonymous"), std::string::npos) << plain->measured;
}

TEST(Issue23TargetsTest, WithoutTheGoPeerEachLineSaysSo) {
  Report r;
  r.runs.push_back(MakeRun("through", 16, 1, 10000, 200, 10000, 0.5));
  const std::vector<Target> t = EvaluateTargets(r);
  for (const char* name : {"CPU/request service/Go at C=16, 1 ch", "req/s service/Go at C=64, 4 ch",
                           "p50 service/Go at C=1, 1 ch"}) {
    const Target* x = Find(t, name);
    ASSERT_NE(x, nullptr) << name;
    EXPECT_FALSE(x->evaluated);
    EXPECT_EQ(x->measured, "not measured: no Go peer");
  }
  const std::string table = RenderTable(r);
  EXPECT_NE(table.find("not measured: no Go peer (target <= 1.00x)"), std::string::npos) << table;
  EXPECT_NE(RenderJson(r).find("\"targets\""), std::string::npos);
}

IdleWatchRecord Idle() {
  IdleWatchRecord w;
  w.streams = w.opened_ok = 10000;
  w.channels = 8;
  w.rss_before_kb = 20000;
  w.rss_open_kb = 150000;  // 13 KB a stream
  w.idle_seconds = 30;
  w.idle_cpu_s = 1.5;  // 3 CPU s a minute, 5% of one core
  w.idle_upstream_requests = 10000;
  w.stalled.note = "skipped";
  return w;
}

TEST(IdleWatchReportTest, RssPerStreamAndCpuPerIdleMinute) {
  const IdleWatchRecord w = Idle();
  EXPECT_DOUBLE_EQ(*RssPerStreamKb(w), 13);
  EXPECT_DOUBLE_EQ(*IdleCpuPerMinute(w), 3);
  const std::vector<Target> t = IdleWatchTargets(w);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_TRUE(t[0].evaluated && t[0].met);
  EXPECT_EQ(t[0].limit, "<= 16 KB");
  EXPECT_EQ(t[0].measured.rfind("13.0 KB", 0), 0u) << t[0].measured;
  EXPECT_TRUE(t[1].evaluated && t[1].figure_only);
  EXPECT_EQ(t[1].measured.rfind("3.00 CPU s/min (5.00% of one core", 0), 0u) << t[1].measured;
  EXPECT_FALSE(t[2].evaluated);
  EXPECT_EQ(t[2].measured, "not measured: skipped");
  const std::string text = RenderIdleWatchText(w) + RenderTargets(t);
  EXPECT_NE(text.find("RSS per stream 13.0 KB"), std::string::npos) << text;
  EXPECT_NE(text.find("FIGURE"), std::string::npos) << text;
  EXPECT_NE(RenderIdleWatchJson(w).find("\"rss_per_stream_kb\": 13.0"), std::string::npos)
      << RenderIdleWatchJson(w);
}

TEST(IdleWatchReportTest, TheFloorPrintsBesideTheServicesFigure) {
  IdleWatchRecord w = Idle();
  EXPECT_NE(RenderIdleWatchText(w).find("floor (gRPC alone): not measured: no stream opened"),
            std::string::npos)
      << RenderIdleWatchText(w);
  EXPECT_EQ(IdleWatchTargets(w)[0].measured.find("floor_server"), std::string::npos);
  w.floor.measured = true;
  w.floor.opened_ok = 10000;
  w.floor.rss_before_kb = 10000;
  w.floor.rss_open_kb = 110000;  // 10 KB a stream
  EXPECT_DOUBLE_EQ(*FloorRssPerStreamKb(w.floor), 10);
  const std::string text = RenderIdleWatchText(w);
  EXPECT_NE(text.find("10.0 KB per stream; the service adds 3.0 KB"), std::string::npos) << text;
  EXPECT_NE(IdleWatchTargets(w)[0].measured.find("; gRPC alone (floor_server) 10.0 KB"),
            std::string::npos)
      << IdleWatchTargets(w)[0].measured;
  const std::string json = RenderIdleWatchJson(w);
  EXPECT_NE(json.find("\"rss_per_stream_kb\": 10.0"), std::string::npos) << json;
  w.floor.opened_ok = 0;
  EXPECT_FALSE(FloorRssPerStreamKb(w.floor).has_value());
}

TEST(IdleWatchReportTest, FailedStreamsFailTheTargetAndAMissingRunSaysSo) {
  IdleWatchRecord w = Idle();
  w.opened_ok = 9990;
  w.failed = 10;
  EXPECT_FALSE(IdleWatchTargets(w)[0].met);
  const std::vector<Target> none = IdleWatchTargets(std::nullopt);
  EXPECT_FALSE(none[0].evaluated);
  EXPECT_EQ(none[0].measured, "not measured: idle scenario not run");
  w.opened_ok = 0;
  EXPECT_FALSE(RssPerStreamKb(w).has_value());
}

TEST(IdleWatchReportTest, AStalledStreamIsMetWhenTheServiceCutIt) {
  // The service's log line for a stream it cut (fields as it logs them).
  const std::string log =
      "{\"level\":\"info\",\"msg\":\"watch stream ended\",\"code\":\"CANCELLED\"}\n"
      "{\"time\":\"t\",\"level\":\"warning\",\"msg\":\"watch stream ended\",\"method\":"
      "\"WatchCredentials\",\"code\":\"RESOURCE_EXHAUSTED\",\"users\":100,\"changes_sent\":47,"
      "\"duration_ms\":10046.5,\"reason\":\"WATCH_STREAM_TOO_SLOW\",\"error\":\"WATCH_STREAM_TOO_"
      "SLOW: "
      "too slow\"}\n";
  IdleWatchRecord w = Idle();
  StalledStreamRecord& st = w.stalled;
  ASSERT_TRUE(FindStalledCut(log, &st));
  EXPECT_TRUE(st.cut);
  EXPECT_EQ(st.changes_sent, 47);
  EXPECT_NEAR(st.cut_after_s, 10.0465, 1e-9);
  EXPECT_EQ(st.end, "WATCH_STREAM_TOO_SLOW: too slow");
  StalledStreamRecord none;
  EXPECT_FALSE(FindStalledCut(log.substr(0, log.find('\n') + 1), &none));

  st.measured = true;
  st.users = 100;
  st.seconds = 20;
  st.upstream_reads = 2000;
  st.rss_before_kb = 30000;
  st.rss_max_kb = 31024;
  EXPECT_EQ(*StalledGrowthKb(st), 1024);
  const Target t = IdleWatchTargets(w)[2];
  EXPECT_TRUE(t.evaluated && t.met);
  EXPECT_EQ(t.measured.rfind("cut after 10.0 s (47 changes sent)", 0), 0u) << t.measured;
  EXPECT_NE(t.measured.find("service RSS +1.0 MB"), std::string::npos) << t.measured;
  EXPECT_NE(RenderIdleWatchText(w).find("Stalled stream: one WatchCredentials stream"),
            std::string::npos);
  EXPECT_NE(RenderIdleWatchJson(w).find("\"changes_sent\": 47"), std::string::npos);
  st.cut = false;
  EXPECT_FALSE(IdleWatchTargets(w)[2].met);
}

TEST(IdleWatchUserIdsTest, DistinctUuidShapedIds) {
  const std::vector<std::string> ids = IdleWatchUserIds(10000);
  ASSERT_EQ(ids.size(), 10000u);
  EXPECT_EQ(ids[0], "00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(ids[9999], "00000000-0000-4000-8000-000000009999");
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
}

TEST(Issue23FlagsTest, RoundsAndTheIdleScenario) {
  Flags f;
  EXPECT_EQ(f.rounds, 3);
  EXPECT_EQ(f.idle_streams, 10000);
  const char* zero_rounds[] = {"bench", "--server_bin=s", "--upstream_bin=u", "--rounds=0"};
  EXPECT_FALSE(ParseFlags(4, const_cast<char**>(zero_rounds), &f));
  Flags g;
  const char* idle[] = {"bench",
                        "--scenario=watch-idle",
                        "--server_bin=s",
                        "--upstream_bin=u",
                        "--idle_streams=2000",
                        "--idle_seconds=10",
                        "--rounds=2"};
  ASSERT_TRUE(ParseFlags(7, const_cast<char**>(idle), &g));
  EXPECT_EQ(g.idle_streams, 2000);
  EXPECT_EQ(g.idle_seconds, 10);
  EXPECT_EQ(g.rounds, 2);
  Flags h;
  const char* no_upstream[] = {"bench", "--scenario=watch-idle", "--server_bin=s"};
  EXPECT_FALSE(ParseFlags(3, const_cast<char**>(no_upstream), &h));
}

}  // namespace
}  // namespace bench
