#include "server/watch/metrics_observer.h"

#include <gtest/gtest.h>

#include <string>

namespace leafsvc::watch {
namespace {

bool Has(const Metrics& m, const std::string& line) {
  return m.Text().find(line) != std::string::npos;
}

TEST(MetricsObserverTest, WritesTheWatchMetricsUnderTheirNamesAndLabels) {
  Metrics metrics;
  MetricsObserver observer(&metrics);
  observer.OnCounts(3, 2);
  observer.OnChangeSent(ChangeKind::kStatusChanged);
  observer.OnPoll(Observation::Kind::kAbsent, Source::kAlert);
  observer.OnPoll(Observation::Kind::kPresent, Source::kPoll);
  observer.OnPoll(Observation::Kind::kError, Source::kInitial);
  observer.OnAlert(PromptResult::kPrompted);
  observer.OnAlert(PromptResult::kCoalesced);
  observer.OnAlert(PromptResult::kCoalesced);
  observer.OnAlert(PromptResult::kUnknownCredential);
  EXPECT_TRUE(Has(metrics, "agleader_watch_streams 3")) << metrics.Text();
  EXPECT_TRUE(Has(metrics, "agleader_watched_users 2"));
  EXPECT_TRUE(Has(metrics, R"(agleader_watch_changes_sent_total{kind="status_changed"} 1)"));
  EXPECT_TRUE(Has(metrics, R"(result="not_found",source="alert"} 1)"));
  EXPECT_TRUE(Has(metrics, R"(result="ok",source="poll"} 1)"));
  EXPECT_TRUE(Has(metrics, R"(result="error",source="initial"} 1)"));
  EXPECT_TRUE(Has(metrics, R"(agleader_alerts_received_total{result="prompted"} 1)"));
  EXPECT_TRUE(Has(metrics, R"(agleader_alerts_received_total{result="coalesced"} 2)"));
  EXPECT_TRUE(Has(metrics, R"(agleader_alerts_received_total{result="unknown_credential"} 1)"));
}

}  // namespace
}  // namespace leafsvc::watch
