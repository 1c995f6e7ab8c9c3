#include "server/observability/leaf_observer.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace leafsvc {
namespace {

TEST(LeafObserverTest, AttemptsReachMetricsAndHealthRetriesReachMetrics) {
  Metrics metrics;
  std::vector<bool> changes;
  UpstreamHealth health(absl::Milliseconds(1), [&](bool serving) { changes.push_back(serving); });
  leaf::LeafClientOptions options;
  ObserveLeafClient(&metrics, &health, options);
  ASSERT_TRUE(options.on_attempt);
  ASSERT_TRUE(options.on_retry);
  const std::string get = "GET";
  options.on_attempt({get, 200, absl::Milliseconds(3), true});
  options.on_attempt({get, 0, absl::Milliseconds(3), false});
  absl::SleepFor(absl::Milliseconds(5));
  options.on_attempt({get, 503, absl::Milliseconds(3), false});
  options.on_retry(get);
  const std::string text = metrics.Text();
  EXPECT_TRUE(
      absl::StrContains(text, R"(agleader_leaf_requests_total{method="GET",status="200"} 1)"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, R"(agleader_leaf_retries_total{method="GET"} 1)")) << text;
  EXPECT_FALSE(changes.empty()) << "failures lasting the window turn Leaf's health off";
}

}  // namespace
}  // namespace leafsvc
