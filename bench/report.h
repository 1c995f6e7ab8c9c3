// What one benchmark run measured and the targets evaluated on it.
// Rendered by report_table.h, report_json.h and report_svg.h.
#ifndef BENCH_REPORT_H_
#define BENCH_REPORT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bench/stats.h"

namespace bench {

struct Machine {
  int nproc = 0;
  std::string cpu_model;
  std::string kernel;
  std::int64_t mem_total_mb = 0;
  std::string loadavg_start;  // /proc/loadavg when the run began
  std::string loadavg_end;
};

// One measured window: `mode` "direct" (libcurl to the upstream) or "through"
// (gRPC to the service, which calls the upstream).
// Also "go" (the Go peer), "floor" (the trivial gRPC server) and
// "through_warning" (the service at --log_level=warning), each at `channels`.
struct RunRecord {
  std::string mode;
  int concurrency = 0;
  int channels = 1;
  std::int64_t requests = 0;
  std::int64_t errors = 0;
  std::string first_error;
  double seconds = 0;
  double rps = 0;
  LatencySummary latency;
  // CPU seconds spent in the window; -1 when not applicable.
  double service_cpu_s = -1;
  double upstream_cpu_s = -1;
  double loadgen_cpu_s = -1;
  // CPU seconds of the whole machine that none of the three processes used:
  // other engineers' builds, the kernel's own work. A noise indicator.
  double foreign_cpu_s = -1;
  // Context switches of the service's threads in the window (through only).
  std::int64_t service_ctx_switches = -1;
  // The service's figures at the end of the window (through only).
  std::int64_t service_rss_kb = -1;
  std::int64_t service_hwm_kb = -1;
  std::int64_t service_threads = -1;
  int service_upstream_connections = -1;  // ESTABLISHED, from /proc
  // The most connections the upstream saw open at once during the run.
  std::int64_t upstream_max_connections = -1;
  // The measured process over the window: the server for gRPC modes, the
  // load generator itself (the libcurl client) for direct.
  double proc_cpu_s = -1;
  std::int64_t proc_ctx_switches = -1;
  double proc_syscalls = -1;  // -1: not measured (no perf)
  std::int64_t proc_hwm_kb = -1;
};

// The head-of-line scenario: an unrelated GetCredentials, one at a time,
// idle and while `listers` callers page through `events` events.
struct HeadOfLineRecord {
  int listers = 0;
  int events = 0;
  int page_size = 0;
  LatencySummary idle;
  LatencySummary loaded;
  std::int64_t loaded_gets = 0;
  std::int64_t get_errors = 0;
  std::int64_t pages = 0;
  std::int64_t list_errors = 0;
  std::string first_error;
  double service_cpu_s = -1;
  double seconds = 0;
};

// The memory check: `calls` GetCredentials in flight at once, held by the
// upstream's delay.
struct HoldRecord {
  int calls = 0;
  int pool_size = 0;  // the service's --max_connections_per_host
  int delay_ms = 0;
  int completed_before_sample = 0;
  std::int64_t rss_before_kb = -1;
  std::int64_t rss_kb = -1;  // while the calls are in flight
  std::int64_t hwm_kb = -1;  // peak over the service's whole life
  std::int64_t threads_before = -1;
  std::int64_t threads_during = -1;
  std::int64_t threads_after = -1;
  int upstream_connections = -1;                // the service's ESTABLISHED ones, from /proc
  std::int64_t upstream_open_connections = -1;  // as the upstream counts them
  std::int64_t upstream_requests = -1;          // requests the upstream received during the hold
  std::map<std::string, int> final_codes;
  double seconds_to_drain = 0;
};

struct Report {
  std::string started_at;  // UTC, ISO 8601
  Machine machine;
  std::map<std::string, std::string> config;  // how the run was set up
  std::vector<RunRecord> runs;
  std::optional<HoldRecord> hold;
  std::optional<HeadOfLineRecord> head_of_line;
  std::string profile_note;
};

struct Target {
  std::string name;
  std::string measured;  // human-readable, with units
  std::string limit;
  bool evaluated = false;  // false when the run did not measure it
  bool met = false;
};

std::vector<Target> EvaluateTargets(const Report& report);

const RunRecord* FindRun(const Report& report, const std::string& mode, int concurrency,
                         int channels = 1);

Machine DescribeMachine();

}  // namespace bench

#endif  // BENCH_REPORT_H_
