// The figures of the budget scenario (bench/budget_bench.h) and their text
// rendering: Leaf requests per minute by class, Leaf's 429s against the
// target of none, the callers' latency, the batch's outcome and the
// effective poll interval.
#ifndef BENCH_BUDGET_REPORT_H_
#define BENCH_BUDGET_REPORT_H_

#include <string>
#include <vector>

#include "bench/budget_load.h"

namespace bench {

// What the service's /metrics and the emulator's /_emulator/stats said at
// `at_s` seconds into the run (0: just before the load started).
struct BudgetSample {
  double at_s = 0;
  std::string metrics;         // Prometheus text; empty when unreachable
  std::string emulator_stats;  // JSON; empty when unreachable
};

struct BudgetRun {
  int users = 0, streams = 0, callers = 0, caller_pause_ms = 0, batch_users = 0;
  int batch_calls = 0, seconds = 0;
  int requests_per_minute = 0, burst = 0;
  bool emulator_limited = true;  // the emulator enforced the limit
  bool service_budgeted = true;  // the service was given the budget flags
  std::vector<std::string> notes;
  std::vector<BudgetSample> samples;  // in time order; the first at 0
  WatchFigures watch;
  CallerFigures callers_figures;
  BatchFigures batch;
};

// The budget's request classes, in priority order, as the service labels
// agleader_leaf_requests_total.
inline constexpr const char* kBudgetClasses[] = {"caller", "prompted", "poll", "bulk"};

// The class's granted requests between two samples, per minute of the time
// between them; 0 when the series is missing or no time passed.
double RequestsPerMinute(const BudgetSample& from, const BudgetSample& to, const char* klass);

// The whole report, as printed (sorts the callers' latencies).
std::string RenderBudgetReport(BudgetRun& run);

}  // namespace bench

#endif  // BENCH_BUDGET_REPORT_H_
