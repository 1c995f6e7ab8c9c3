// What the Leaf client reports about its requests, sent where operators see
// it: every attempt to the metrics (by method, status, latency) and to
// Leaf's health (reachable or not), every retry to the metrics.
#ifndef SERVER_OBSERVABILITY_LEAF_OBSERVER_H_
#define SERVER_OBSERVABILITY_LEAF_OBSERVER_H_

#include "server/leaf/leaf_call.h"
#include "server/observability/metrics.h"
#include "server/observability/upstream_health.h"

namespace leafsvc {

// Sets `options.on_attempt` and `options.on_retry`. Both must outlive the
// Leaf client.
void ObserveLeafClient(Metrics* metrics, UpstreamHealth* health, leaf::LeafClientOptions& options);

}  // namespace leafsvc

#endif  // SERVER_OBSERVABILITY_LEAF_OBSERVER_H_
