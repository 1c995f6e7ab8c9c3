// The fleet scenario of issue 21 (`bench --scenario=fleet`, or
// `bash bench/run.sh fleet`): one redis-server, the Leaf emulator limiting at
// --fleet_requests_per_minute, and three replicas of the service sharing that
// Redis (--redis_url, --fleet_size_hint=3), each with its own alert listener;
// --fleet_streams WatchCredentials streams over --fleet_users users spread
// over the replicas (each user on at least two), and for --fleet_seconds an
// alert every --fleet_alert_every_ms posted to replica 1. Prints figures
// beside their targets (bench/fleet_report.h), not a verdict: it is not a
// timed test.
#ifndef BENCH_FLEET_BENCH_H_
#define BENCH_FLEET_BENCH_H_

#include "bench/bench_flags.h"

namespace bench {

// Runs the scenario and prints its report (also to <out_dir>/fleet.txt); 0
// when it ran, 1 when a child process did not start.
int RunFleetScenario(const Flags& flags);

}  // namespace bench

#endif  // BENCH_FLEET_BENCH_H_
