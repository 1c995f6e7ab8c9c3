#include "server/observability/leaf_observer.h"

namespace leafsvc {

void ObserveLeafClient(Metrics* metrics, UpstreamHealth* health, leaf::LeafClientOptions& options) {
  options.on_attempt = [metrics, health](const leaf::AttemptInfo& attempt) {
    metrics->LeafAttempt(attempt.http_method, attempt.http_status, attempt.latency);
    health->Record(attempt.reachable);
  };
  options.on_retry = [metrics](const std::string& method) { metrics->LeafRetry(method); };
}

}  // namespace leafsvc
