// The budget scenario of issue 20 (`bench --scenario=budget`, or
// `bash bench/run.sh budget`): the Leaf emulator limiting at
// --budget_requests_per_minute, the service given the same budget, and at
// once WatchCredentials over all --budget_users seeded users, the callers'
// GetCredentials and one BatchGetCredentials of --budget_batch_users users,
// for --budget_seconds. Prints figures (bench/budget_report.h), not a
// verdict: it is not a timed test.
#ifndef BENCH_BUDGET_BENCH_H_
#define BENCH_BUDGET_BENCH_H_

#include "bench/bench_flags.h"

namespace bench {

// Runs the scenario and prints its report (also to <out_dir>/budget.txt);
// 0 when it ran, 1 when a child process did not start.
int RunBudgetScenario(const Flags& flags);

}  // namespace bench

#endif  // BENCH_BUDGET_BENCH_H_
