// The watch hub's metrics: agleader_watch_streams / agleader_watched_users,
// agleader_watch_polls_total{result,source},
// agleader_watch_changes_sent_total{kind} and what alerts cost,
// agleader_alerts_received_total{result} (prompted, coalesced,
// unknown_credential; the alert listener counts its own results).
#ifndef SERVER_WATCH_METRICS_OBSERVER_H_
#define SERVER_WATCH_METRICS_OBSERVER_H_

#include "server/observability/metrics.h"
#include "server/watch/polling_watch_hub.h"

namespace leafsvc::watch {

// "ok", "not_found", "error" (the poll metric's result label).
absl::string_view PollResultName(Observation::Kind kind);

class MetricsObserver final : public HubObserver {
 public:
  // `metrics` must outlive the observer.
  explicit MetricsObserver(Metrics* metrics) : metrics_(metrics) {}

  void OnCounts(int streams, int users) override;
  void OnChangeSent(ChangeKind kind) override;
  void OnPoll(Observation::Kind result, Source source) override;
  void OnAlert(PromptResult result) override;

 private:
  Metrics* const metrics_;
};

}  // namespace leafsvc::watch

#endif  // SERVER_WATCH_METRICS_OBSERVER_H_
