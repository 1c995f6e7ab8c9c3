// The benchmark's own pieces: the fast upstream must stay Leaf-shaped (the
// service must accept its answers, or the benchmark measures error paths),
// and the figures must be computed right.
#include <curl/curl.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "bench/fast_upstream.h"
#include "bench/report.h"
#include "bench/stats.h"
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

}  // namespace
}  // namespace bench
