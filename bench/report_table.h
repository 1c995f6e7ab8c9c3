// The human-readable rendering of a Report: per-concurrency tables of
// direct against through, the hold, and the targets (results.txt).
#ifndef BENCH_REPORT_TABLE_H_
#define BENCH_REPORT_TABLE_H_

#include <string>
#include <vector>

#include "bench/report.h"

namespace bench {

std::string RenderTable(const Report& report);

// "Targets:" and one line each: verdict, name, measured (target limit).
std::string RenderTargets(const std::vector<Target>& targets);

}  // namespace bench

#endif  // BENCH_REPORT_TABLE_H_
