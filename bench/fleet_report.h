// The figures of the fleet scenario (bench/fleet_bench.h) and their text
// rendering, each beside its target: alert-to-watcher latency on every
// replica, Leaf reads per user per poll interval for the whole fleet, Leaf
// requests per minute against the budget.
#ifndef BENCH_FLEET_REPORT_H_
#define BENCH_FLEET_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/fleet_load.h"

namespace bench {

// What Leaf answered about the watched users' states so far: one user per
// GET of its credentials, every user on a page of the listing (the watch's
// sweeps, docs/watch.md).
struct LeafReads {
  std::int64_t gets = 0;   // GET .../users/{id}/ag-leader-credentials answered 200
  std::int64_t pages = 0;  // GET .../users?page=&size= answered 200
  std::int64_t users = 0;  // user states those carried: gets + the pages' users
};

// The reads in the emulator's recorded requests (the JSON array of GET
// /_emulator/requests), with `listed_users` users in its listing; nullopt
// when the text is not such an array. Refused requests (429, ...) read
// nothing.
std::optional<LeafReads> CountLeafReads(const std::string& requests_json, int listed_users);

// The replicas' /metrics and the emulator's /_emulator/stats and reads at
// `at_s` seconds into the run.
struct FleetSample {
  double at_s = 0;
  std::vector<std::string> metrics;  // per replica; empty text when unreachable
  std::string emulator_stats;        // JSON; empty when unreachable
  std::optional<LeafReads> reads;    // nullopt: unknown
};

struct FleetRun {
  int replicas = 3, users = 0, streams = 0, seconds = 0;
  int poll_interval_s = 0, alert_every_ms = 0, requests_per_minute = 0;
  // The replicas know --fleet_size_hint (the fleet's shared budget); without
  // it each was given requests_per_minute / replicas by hand.
  bool fleet_flags = true;
  int budget_per_replica = 0;
  std::vector<std::string> notes;
  double all_initial_after_s = -1;  // -1: some stream never had its INITIAL
  FleetSample begin, end;           // the measured window (alerts in between)
  std::vector<ReplicaAlertFigures> alerts;
  FleetWatchFigures watch;
  std::int64_t alerts_sent = 0, alert_errors = 0;
};

// Alert latency target, on every replica (issue 21 item 4).
inline constexpr double kAlertP99TargetMs = 1000;

// Reads per user per poll interval: `reads` over `users` users in `seconds`
// with a poll every `interval_s`; -1 when a figure is missing or zero.
double PerUserPerInterval(std::int64_t reads, int users, double seconds, double interval_s);

// The whole report, as printed (sorts the latencies).
std::string RenderFleetReport(FleetRun& run);

}  // namespace bench

#endif  // BENCH_FLEET_REPORT_H_
