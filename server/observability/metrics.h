// Prometheus metrics (served by App on --metrics_listen, through the
// hardened HTTP listener of server/httpd). RPC
// metrics use the names of go-grpc-prometheus (grpc_server_started_total,
// grpc_server_handled_total, grpc_server_handling_seconds), which existing
// gRPC dashboards understand; the rest are prefixed agleader_.
#ifndef SERVER_OBSERVABILITY_METRICS_H_
#define SERVER_OBSERVABILITY_METRICS_H_

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace leafsvc {

class Metrics {
 public:
  // The service whose RPCs are counted. Its methods are read from the
  // compiled descriptor (labels are created for each up front), so a new RPC
  // cannot be left out of the metrics.
  static constexpr char kService[] = "leaf.agleader.v1.AgLeaderCredentials";

  Metrics();
  ~Metrics();

  // `method` is a method of kService (others are ignored). A Watch stream is
  // started when it is accepted and handled when it ends, with its code.
  void RpcStarted(absl::string_view method);
  void RpcHandled(absl::string_view method, absl::StatusCode code, absl::Duration latency);
  // A call refused before reaching Leaf, by reason (e.g. INVALID_REQUEST).
  void CallRejected(absl::string_view reason);
  // `http_status` 0: no response.
  void LeafAttempt(absl::string_view http_method, int http_status, absl::Duration latency);
  void LeafRetry(absl::string_view http_method);
  void LeafLogin(bool ok);
  void LeafUp(bool up);
  // Fleet mode (docs/fleet.md): agleader_fleet_redis_up, exported only
  // once EnableFleet has run (a replica alone has no Redis to report).
  // Call EnableFleet before serving.
  void EnableFleet();
  void FleetRedisUp(bool up);
  // agleader_fleet_poll_reads_total{from}: where a watched user's read came
  // from ("leaf": this replica held its lease; "redis": another did;
  // "alone": Redis failed).
  void FleetPollRead(absl::string_view from);
  void CallsInFlight(int delta);

  // The Leaf request budget (server/budget/request_budget.h), by class
  // ("caller", "prompted", "poll", "bulk"): requests granted, requests that
  // had to wait; Leaf's 429s; reads that shared another's request; the rate
  // in force; the interval each watched user is read at.
  void LeafRequestGranted(absl::string_view request_class);
  void LeafBudgetWait(absl::string_view request_class);
  void LeafRateLimited();
  void LeafCoalesced();
  void LeafBudgetRate(double requests_per_minute);
  void WatchEffectivePollInterval(absl::Duration interval);

  // WatchCredentials: open streams and watched users (gauges), reads of
  // watched users by result ("ok", "not_found", "error") and source, changes
  // sent by kind, Leaf alerts received by result, streams ended by code.
  void WatchCounts(int streams, int users);
  void WatchPoll(absl::string_view result, absl::string_view source);
  void WatchChangeSent(absl::string_view kind);
  void AlertReceived(absl::string_view result);
  // A connection or request an HTTP listener ("alerts", "metrics") refused,
  // by reason (server/httpd/connection_table.h).
  void HttpRefused(absl::string_view listener, absl::string_view reason);
  void WatchStreamEnded(absl::StatusCode code);

  // The Prometheus text exposition of every metric (what /metrics serves).
  std::string Text() const;

 private:
  struct MethodMetrics;
  struct LeafMethodMetrics;
  MethodMetrics* For(absl::string_view method);
  LeafMethodMetrics* LeafFor(absl::string_view http_method);
  void InitWatchMetrics();

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* http_refused_;
  std::vector<std::unique_ptr<MethodMetrics>> methods_;  // every method of kService
  // GET, POST, DELETE: the methods the service sends to Leaf.
  std::array<std::unique_ptr<LeafMethodMetrics>, 3> leaf_methods_;
  prometheus::Family<prometheus::Counter>* handled_;
  prometheus::Family<prometheus::Counter>* rejected_;
  prometheus::Family<prometheus::Counter>* leaf_requests_;
  prometheus::Family<prometheus::Histogram>* leaf_latency_;
  prometheus::Family<prometheus::Counter>* leaf_retries_;
  struct BudgetMetrics;
  std::unique_ptr<BudgetMetrics> budget_;
  prometheus::Counter* logins_ok_;
  prometheus::Counter* logins_failed_;
  prometheus::Gauge* leaf_up_;
  std::atomic<prometheus::Gauge*> fleet_redis_up_{nullptr};
  std::atomic<prometheus::Family<prometheus::Counter>*> fleet_poll_reads_{nullptr};
  prometheus::Gauge* in_flight_;
  struct WatchMetrics;
  std::unique_ptr<WatchMetrics> watch_;
};

}  // namespace leafsvc

#endif  // SERVER_OBSERVABILITY_METRICS_H_
