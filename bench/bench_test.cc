// The benchmark's own pieces: the fast upstream must stay Leaf-shaped (the
// service must accept its answers, or the benchmark measures error paths),
// and the figures must be computed right.
#include <curl/curl.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_flags.h"
#include "bench/budget_load.h"
#include "bench/budget_report.h"
#include "bench/fast_upstream.h"
#include "bench/prom_text.h"
#include "bench/report.h"
#include "bench/stats.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "server/leaf/leaf_json.h"
#include "server/providers/agleader/agleader_spec.h"

namespace bench {
namespace {

constexpr char kPath[] =
    "/services/usermanagement/api/users/3fa85f64-5717-4562-b3fc-2c963f66afa6/"
    "ag-leader-credentials";

struct Reply {
  long status = 0;
  std::string body;
};

std::size_t Append(char* data, std::size_t size, std::size_t n, void* userp) {
  static_cast<std::string*>(userp)->append(data, size * n);
  return size * n;
}

class FastUpstreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    upstream_ = FastUpstream::Start(FastUpstreamOptions{}, &error);
    ASSERT_NE(upstream_, nullptr) << error;
    easy_ = curl_easy_init();
  }
  void TearDown() override {
    if (easy_ != nullptr) curl_easy_cleanup(easy_);
  }

  // Requests reuse one easy handle, hence one keep-alive connection.
  Reply Get(const std::string& path, bool with_token = true) {
    Reply reply;
    const std::string url = "http://127.0.0.1:" + std::to_string(upstream_->port()) + path;
    curl_slist* headers =
        with_token ? curl_slist_append(nullptr, "Authorization: Bearer t") : nullptr;
    curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &Append);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, static_cast<void*>(&reply.body));
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, 5000L);
    EXPECT_EQ(curl_easy_perform(easy_), CURLE_OK);
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &reply.status);
    curl_slist_free_all(headers);
    return reply;
  }

  std::unique_ptr<FastUpstream> upstream_;
  CURL* easy_ = nullptr;
};

TEST_F(FastUpstreamTest, AnswersCredentialsThatTheServiceDecodes) {
  const Reply reply = Get(kPath);
  EXPECT_EQ(reply.status, 200);
  absl::StatusOr<leafsvc::leaf::ProviderCredentials> decoded =
      leafsvc::leaf::DecodeCredentials(reply.body, leafsvc::providers::AgLeaderSpec());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->status, "OK");
  EXPECT_FALSE(decoded->id.empty());
}

TEST_F(FastUpstreamTest, AChangingUsersStatusAlternatesFromOneReadToTheNext) {
  auto changing = [](int n) {
    return "/services/usermanagement/api/users/ffffffff-0000-4000-8000-00000000000" +
           std::to_string(n) + "/ag-leader-credentials";
  };
  std::vector<std::string> statuses;
  // Each user alternates on its own, however the reads of two interleave.
  for (const int user : {1, 2, 1, 2, 2, 1}) {
    const Reply reply = Get(changing(user));
    ASSERT_EQ(reply.status, 200);
    absl::StatusOr<leafsvc::leaf::ProviderCredentials> decoded =
        leafsvc::leaf::DecodeCredentials(reply.body, leafsvc::providers::AgLeaderSpec());
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    statuses.push_back(decoded->status);
  }
  EXPECT_EQ(statuses, (std::vector<std::string>{"OK", "OK", "UNAUTHENTICATED", "UNAUTHENTICATED",
                                                "OK", "OK"}));
  // Other users keep the fixed body.
  EXPECT_EQ(Get(kPath).body, FastUpstreamCredentialsBody());
  EXPECT_EQ(Get(kPath).body, FastUpstreamCredentialsBody());
}

TEST_F(FastUpstreamTest, RefusesACredentialsRequestWithoutBearerToken) {
  EXPECT_EQ(Get(kPath, /*with_token=*/false).status, 401);
}

TEST_F(FastUpstreamTest, AnswersNotFoundOutsideTheCredentialsPath) {
  EXPECT_EQ(Get("/services/usermanagement/api/users/x/other").status, 404);
}

TEST_F(FastUpstreamTest, ServesManyRequestsOnOneKeepAliveConnection) {
  for (int i = 0; i < 5; ++i) ASSERT_EQ(Get(kPath).status, 200);
  const FastUpstreamStats stats = upstream_->Stats();
  EXPECT_EQ(stats.requests, 5);
  EXPECT_EQ(stats.accepted, 1);
  EXPECT_EQ(stats.open_connections, 1);
}

TEST_F(FastUpstreamTest, ControlRequestsAreNotCountedAsTraffic) {
  ASSERT_EQ(Get("/_bench/stats").status, 200);
  EXPECT_EQ(upstream_->Stats().requests, 0);
  EXPECT_EQ(upstream_->Stats().open_connections, 0);
}

TEST_F(FastUpstreamTest, DelaysCredentialResponsesWhileADelayIsSet) {
  ASSERT_EQ(Get("/_bench/delay?ms=300").status, 200);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Get(kPath).status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
  upstream_->SetDelayMs(0);
  const auto again = std::chrono::steady_clock::now();
  EXPECT_EQ(Get(kPath).status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - again, std::chrono::milliseconds(300));
}

TEST(StatsTest, PercentileIsNearestRank) {
  std::vector<std::int64_t> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i * 1000);
  const LatencySummary s = Summarize(v);
  EXPECT_EQ(s.count, 100);
  EXPECT_DOUBLE_EQ(s.p50_us, 50);
  EXPECT_DOUBLE_EQ(s.p99_us, 99);
  EXPECT_DOUBLE_EQ(s.max_us, 100);
}

TEST(StatsTest, CpuSecondsFromStatHandlesSpacesInTheCommandName) {
  const std::string stat =
      "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 50 0 0 20 0 9 0 1 2 3";
  EXPECT_DOUBLE_EQ(CpuSecondsFromStat(stat, 100), 3.0);
}

TEST(StatsTest, CountsOnlyEstablishedSocketsOfTheProcessToThePort) {
  const std::string table =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
      "timeout inode\n"
      "   0: 0100007F:A000 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0 0 111 "
      "1 0000000000000000 20 4 30 10 -1\n"
      "   1: 0100007F:A001 0100007F:1F90 06 00000000:00000000 00:00000000 00000000     0 0 112 "
      "1 0000000000000000 20 4 30 10 -1\n"
      "   2: 0100007F:A002 0100007F:1F91 01 00000000:00000000 00:00000000 00000000     0 0 113 "
      "1 0000000000000000 20 4 30 10 -1\n"
      "   3: 0100007F:A003 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0 0 999 "
      "1 0000000000000000 20 4 30 10 -1\n";
  EXPECT_EQ(CountEstablishedInTable(table, 0x1F90, {111, 112, 113}), 1);
}

TEST(ReportTest, ThroughputBelowEightyPercentOfDirectIsNotMet) {
  Report r;
  RunRecord d{"direct", 16};
  d.rps = 10000;
  RunRecord t{"through", 16};
  t.rps = 7900;
  r.runs = {d, t};
  const std::vector<Target> targets = EvaluateTargets(r);
  ASSERT_FALSE(targets.empty());
  EXPECT_EQ(targets[0].name, "throughput through/direct at C=16");
  EXPECT_TRUE(targets[0].evaluated);
  EXPECT_FALSE(targets[0].met);
}

// The budget scenario (issue 20) reads the service's /metrics.
constexpr char kMetrics[] =
    "# HELP agleader_leaf_requests_total HTTP requests to Leaf ...\n"
    "# TYPE agleader_leaf_requests_total counter\n"
    "agleader_leaf_requests_total{class=\"caller\"} 120\n"
    "agleader_leaf_requests_total{class=\"poll\"} 3.5e+02\n"
    "agleader_leaf_requests_total{method=\"GET\",status=\"200\"} 9000\n"
    "agleader_leaf_requests_total{status=\"x,class=\\\"bulk\\\"\",subclass=\"bulk\"} 7\n"
    "agleader_leaf_requests_total_created{class=\"caller\"} 1700000000\n"
    "agleader_watch_effective_poll_interval_seconds 600\r\n"
    "garbage line without a value\n"
    "agleader_leaf_coalesced_total 4";

TEST(PromTextTest, SumsOnlyTheSeriesWithTheLabel) {
  EXPECT_DOUBLE_EQ(SumSamples(kMetrics, "agleader_leaf_requests_total", "class", "caller"), 120);
  EXPECT_DOUBLE_EQ(SumSamples(kMetrics, "agleader_leaf_requests_total", "class", "poll"), 350);
  // Not a label of its own: inside another label's value, or a longer key.
  EXPECT_DOUBLE_EQ(SumSamples(kMetrics, "agleader_leaf_requests_total", "class", "bulk"), 0);
  EXPECT_DOUBLE_EQ(SumSamples(kMetrics, "agleader_leaf_requests_total"), 120 + 350 + 9000 + 7);
}

TEST(PromTextTest, MissingSeriesCountAsZeroAndNamesMatchExactly) {
  EXPECT_DOUBLE_EQ(SumSamples(kMetrics, "agleader_leaf_rate_limited_total"), 0);
  EXPECT_DOUBLE_EQ(SumSamples(kMetrics, "agleader_leaf_requests", "class", "caller"), 0);
  EXPECT_DOUBLE_EQ(SumSamples("", "agleader_leaf_coalesced_total"), 0);
  EXPECT_DOUBLE_EQ(SumSamples(kMetrics, "agleader_watch_effective_poll_interval_seconds"), 600);
  EXPECT_DOUBLE_EQ(SumSamples(kMetrics, "agleader_leaf_coalesced_total"), 4);
  EXPECT_TRUE(HasMetric(kMetrics, "agleader_leaf_requests_total"));
  EXPECT_FALSE(HasMetric(kMetrics, "agleader_leaf_budget_waits_total"));
  EXPECT_FALSE(HasMetric(kMetrics, "garbage"));
}

std::string StatusWith(const google::protobuf::Message& detail) {
  google::rpc::Status status;
  status.set_code(8);
  status.add_details()->PackFrom(detail);
  return status.SerializeAsString();
}

TEST(BudgetLoadTest, ReadsTheRetryDelayAndTheReasonOfAStatus) {
  google::rpc::RetryInfo retry;
  retry.mutable_retry_delay()->set_seconds(2);
  retry.mutable_retry_delay()->set_nanos(250000000);
  EXPECT_EQ(RetryDelayOf(StatusWith(retry)), std::chrono::milliseconds(2250));
  google::rpc::ErrorInfo info;
  info.set_reason("LEAF_RATE_LIMITED");
  EXPECT_EQ(ReasonOf(StatusWith(info)), "LEAF_RATE_LIMITED");
  EXPECT_EQ(RetryDelayOf(StatusWith(info)), std::chrono::milliseconds(0));
  EXPECT_EQ(ReasonOf(StatusWith(retry)), "");
  EXPECT_EQ(ReasonOf(""), "");
  EXPECT_EQ(RetryDelayOf("\xff not a status"), std::chrono::milliseconds(0));
}

BudgetSample Sample(double at_s, double caller, double poll, const std::string& stats) {
  BudgetSample s;
  s.at_s = at_s;
  s.metrics = "agleader_leaf_requests_total{class=\"caller\"} " + std::to_string(caller) +
              "\nagleader_leaf_requests_total{class=\"poll\"} " + std::to_string(poll) +
              "\nagleader_watch_effective_poll_interval_seconds 240\n";
  s.emulator_stats = stats;
  return s;
}

TEST(BudgetReportTest, RequestsPerMinuteAreDeltasOverTheWindow) {
  const BudgetSample a = Sample(0, 100, 0, ""), b = Sample(30, 400, 200, "");
  EXPECT_DOUBLE_EQ(RequestsPerMinute(a, b, "caller"), 600);
  EXPECT_DOUBLE_EQ(RequestsPerMinute(a, b, "poll"), 400);
  EXPECT_DOUBLE_EQ(RequestsPerMinute(a, b, "bulk"), 0);
  EXPECT_DOUBLE_EQ(RequestsPerMinute(b, b, "caller"), 0);  // no time passed
}

TEST(BudgetReportTest, PrintsEveryFigureWithTheTargets) {
  BudgetRun run;
  run.users = 5000;
  run.streams = 50;
  run.requests_per_minute = 1000;
  run.samples = {
      Sample(0, 0, 0, "{\"rate_limited_count\":2,\"max_requests_in_any_minute\":0}"),
      Sample(60, 300, 600,
             "{\"rate_limited_count\":5,\"requests_in_last_minute\":910,"
             "\"max_requests_in_any_minute\":990}"),
      Sample(90, 450, 900, "{\"rate_limited_count\":5,\"max_requests_in_any_minute\":995}")};
  run.callers_figures.latencies_ns = {3000000, 1000000, 2000000};
  run.callers_figures.codes = {{"OK", 2}, {"RESOURCE_EXHAUSTED", 1}};
  run.batch.rate_limited = 7;
  const std::string report = RenderBudgetReport(run);
  EXPECT_NE(report.find("| 0-60 s | 300 | 0 | 600 | 0 | 900 | 910 |"), std::string::npos) << report;
  EXPECT_NE(report.find("| 60-90 s | 300 | 0 | 600 | 0 | 900 | n/a |"), std::string::npos);
  EXPECT_NE(report.find("| whole run | 300 | 0 | 600 | 0 | 900 |"), std::string::npos);
  EXPECT_NE(report.find("rate_limited_count): 3 (target 0)"), std::string::npos);
  EXPECT_NE(report.find("max_requests_in_any_minute): 995 (budget 1000)"), std::string::npos);
  EXPECT_NE(report.find("seconds): 240.0 s"), std::string::npos);
  EXPECT_NE(report.find("Callers: 3 GetCredentials, p50 2.0 ms, p99 3.0 ms"), std::string::npos);
  EXPECT_NE(report.find("by code: OK 2, RESOURCE_EXHAUSTED 1"), std::string::npos);
  EXPECT_NE(report.find("LEAF_RATE_LIMITED 7"), std::string::npos);
  EXPECT_NE(report.find("not all by the end"), std::string::npos);
}

TEST(BudgetReportTest, SaysWhatWasNotMeasured) {
  BudgetRun run;
  run.emulator_limited = false;
  run.service_budgeted = false;
  run.samples = {Sample(0, 0, 0, ""), Sample(5, 0, 0, "")};
  run.samples[1].metrics.clear();
  const std::string report = RenderBudgetReport(run);
  EXPECT_NE(report.find("rate_limited_count): n/a (target 0)"), std::string::npos) << report;
  EXPECT_NE(report.find("NOT given to the service"), std::string::npos);
  EXPECT_NE(report.find("emulator limit off"), std::string::npos);
  EXPECT_NE(report.find("has no agleader_leaf_requests_total series"), std::string::npos);
}

bool Parse(std::vector<std::string> args, Flags* f) {
  std::vector<char*> argv;
  static char name[] = "bench";
  argv.push_back(name);
  for (std::string& a : args) argv.push_back(a.data());
  return ParseFlags(static_cast<int>(argv.size()), argv.data(), f);
}

TEST(BenchFlagsTest, TheBudgetScenarioNeedsItsBinariesAndSaneNumbers) {
  Flags f;
  EXPECT_TRUE(Parse({"--scenario=budget", "--server_bin=s", "--emulator_bin=e",
                     "--budget_seconds=5", "--budget_users=300", "--budget_batch_users=300"},
                    &f));
  EXPECT_EQ(f.budget_seconds, 5);
  EXPECT_EQ(f.budget_users, 300);
  EXPECT_EQ(f.budget_callers, 20);  // the defaults stay
  EXPECT_EQ(f.budget_requests_per_minute, 1000);
  Flags g;
  EXPECT_FALSE(Parse({"--scenario=budget", "--server_bin=s"}, &g));
  for (const char* bad : {"--budget_seconds=0", "--budget_users=-5", "--budget_callers=x",
                          "--budget_burst=", "--budget_seconds=12s", "--budget_nonsense=1",
                          "--budget_batch_users=6000"}) {
    Flags h;
    EXPECT_FALSE(Parse({"--scenario=budget", "--server_bin=s", "--emulator_bin=e", bad}, &h))
        << bad;
  }
  Flags h;
  EXPECT_FALSE(Parse({"--scenario=budgte", "--server_bin=s", "--emulator_bin=e"}, &h));
}

}  // namespace
}  // namespace bench
