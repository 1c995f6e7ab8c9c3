// The benchmark driver's command line (see bench_main.cc for the list).
#ifndef BENCH_BENCH_FLAGS_H_
#define BENCH_BENCH_FLAGS_H_

#include <string>
#include <vector>

namespace bench {

struct Flags {
  std::string upstream_bin, server_bin, out_dir = "bench/out";
  std::vector<int> concurrency = {1, 16, 64};
  // direct: libcurl to the upstream; through: the service; through_warning:
  // a second service at --log_level=warning; go: the Go peer; floor: the
  // trivial gRPC server.
  std::vector<std::string> modes = {"direct", "through", "go", "floor", "through_warning"};
  std::vector<int> channels = {1, 4};
  // Issue 23: every measured window runs once per round, rounds interleaved;
  // the report shows the medians. 3 rounds of 1 s + 3 s keep the default
  // run under 8 minutes after the build.
  int rounds = 3;
  int warmup_ms = 1000, duration_ms = 3000, pool = 64;
  int hold_calls = 1000, hold_delay_ms = 2000, upstream_threads = 1, upstream_delay_ms = 0;
  std::string perf_record, perf_args = "-e cpu-clock -F 1999 -g";
  std::string server_prefix, server_args, begin_cmd, end_cmd, note;
  std::string upstream = "fast", emulator_bin;
  // The Go peer's binary (empty: its rows are skipped, `go_note` says why)
  // and the floor server's.
  std::string go_bin, go_note, floor_bin;
  // Head of line: events in the upstream's list, window length (0: skip).
  int hol_events = 100000, hol_duration_ms = 3000;
  // Empty: the matrix above. "budget": issue 20's request-budget scenario
  // (bench/budget_bench.h), which uses the flags below and the emulator;
  // "fleet": issue 21's three replicas sharing one Redis; "watch-idle":
  // issue 23's idle WatchCredentials streams alone.
  std::string scenario;
  // The budget scenario: run length, seeded (and watched) users, callers and
  // the pause each takes between its Gets, users in the batch, the request
  // budget given to both the emulator's limit and the service.
  int budget_seconds = 120, budget_users = 5000, budget_callers = 20;
  int budget_caller_pause_ms = 3000, budget_batch_users = 2000;
  int budget_requests_per_minute = 1000, budget_burst = 20;
  // The fleet scenario (issue 21, bench/fleet_bench.h): measured seconds,
  // seeded users and the streams watching them over three replicas, the
  // replicas' poll interval, the pause between alerts, the fleet's budget
  // (the emulator's limit too), and the redis-server to start.
  int fleet_seconds = 120, fleet_users = 150, fleet_streams = 300;
  int fleet_poll_interval_s = 30, fleet_alert_every_ms = 1000;
  int fleet_requests_per_minute = 1000;
  std::string redis_bin = "redis-server";
  // Issue 23's idle watchers (bench/idle_watch_bench.h), the last part of
  // the default run (0 streams: skipped) and `--scenario=watch-idle` alone.
  int idle_streams = 10000, idle_seconds = 30, idle_channels = 8;
  // GetCredentials calls cycle through this many Leaf users: 1 (the
  // default) lets the service join concurrent reads of one user into one
  // Leaf request; many (e.g. 1000) make each call a Leaf request of its own,
  // as the Go peer always does.
  int users = 1;
  // Its stalled stream's window (bench/stalled_stream.h); 0: skipped.
  int stalled_seconds = 20;
};

// The non-empty items of `s` between `sep`s.
std::vector<std::string> Split(const std::string& s, char sep);

// Fills `f` from --name=value arguments; false (after a message on stderr)
// on an unknown flag or a missing binary.
bool ParseFlags(int argc, char** argv, Flags* f);

}  // namespace bench

#endif  // BENCH_BENCH_FLAGS_H_
