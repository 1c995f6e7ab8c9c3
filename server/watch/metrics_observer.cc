#include "server/watch/metrics_observer.h"

namespace leafsvc::watch {

absl::string_view PollResultName(Observation::Kind kind) {
  switch (kind) {
    case Observation::Kind::kPresent:
      return "ok";
    case Observation::Kind::kAbsent:
      return "not_found";
    case Observation::Kind::kError:
      return "error";
    case Observation::Kind::kNotRead:
      return "deferred";
  }
  return "error";
}

void MetricsObserver::OnCounts(int streams, int users) { metrics_->WatchCounts(streams, users); }

void MetricsObserver::OnChangeSent(ChangeKind kind) {
  metrics_->WatchChangeSent(ChangeKindName(kind));
}

void MetricsObserver::OnPoll(Observation::Kind result, Source source) {
  metrics_->WatchPoll(PollResultName(result), SourceName(source));
}

void MetricsObserver::OnAlert(PromptResult result) {
  metrics_->AlertReceived(PromptResultName(result));
}

}  // namespace leafsvc::watch
