// Issue 23's lean-at-scale scenario (`bench --scenario=watch-idle`, `bash
// bench/run.sh watch-idle`, and the last part of the default run): a fresh
// service against its own fast upstream; --idle_streams WatchCredentials
// streams over as many distinct users, opened at once over
// --idle_channels connections; the service's RSS before and with every
// stream open (RSS per stream), its threads, and its CPU over an idle window
// of --idle_seconds with the upstream requests it made meanwhile; then every
// stream is cancelled and the service stopped (SIGTERM, clean exit). With
// --floor_bin, the same streams are then held by bench/floor_server (gRPC
// alone, one message each): the floor of the RSS per stream. Then the
// stalled stream (bench/stalled_stream.h) for --stalled_seconds.
#ifndef BENCH_IDLE_WATCH_BENCH_H_
#define BENCH_IDLE_WATCH_BENCH_H_

#include <optional>
#include <string>
#include <vector>

#include "bench/bench_flags.h"
#include "bench/report.h"

namespace bench {

// The service's flags for the scenario, beyond --listen and --leaf_api_url:
// room for `streams` streams and users, no per-caller cap (every stream
// comes from 127.0.0.1), and a request budget that reads the first state of
// every user within seconds. --watch_poll_interval stays at its 30s default.
std::vector<std::string> IdleWatchServiceFlags(int streams);

// Runs the scenario; nullopt (after a message on stderr) when the upstream
// or the service did not start.
std::optional<IdleWatchRecord> MeasureIdleWatch(const Flags& flags);

// The scenario alone: prints its section and targets, writes
// out_dir/watch-idle.txt and watch-idle.json. The exit code.
int RunIdleWatchScenario(const Flags& flags);

}  // namespace bench

#endif  // BENCH_IDLE_WATCH_BENCH_H_
