// Issue 23's rounds: every measured window runs once per round, rounds
// interleaved (round 1 of everything, then round 2, ...), and the report's
// rows are the medians over the rounds of each figure.
#ifndef BENCH_REPORT_ROUNDS_H_
#define BENCH_REPORT_ROUNDS_H_

#include <vector>

#include "bench/report.h"

namespace bench {

// The median of `values` (the mean of the two middle ones for an even
// count), ignoring the negative ones (not measured); -1 when none is left.
double MedianOf(std::vector<double> values);

// One record per (mode, concurrency, channels), in the order each first
// appears in `rounds`, whose figures are the medians over its rounds:
// req/s, each latency percentile, threads, RSS and connections directly;
// the per-request figures (CPU of each process, syscalls, context
// switches) as the median of the per-request values, stored as that times
// the median request count, so that dividing by `requests` gives the median;
// the machine's other CPU as the median share of the window. `errors` is the
// sum over the rounds and `first_error` the first one seen.
std::vector<RunRecord> MedianOfRounds(const std::vector<RunRecord>& rounds);

}  // namespace bench

#endif  // BENCH_REPORT_ROUNDS_H_
