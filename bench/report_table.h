// The human-readable rendering of a Report: per-concurrency tables of
// direct against through, the hold, and the targets (results.txt).
#ifndef BENCH_REPORT_TABLE_H_
#define BENCH_REPORT_TABLE_H_

#include <string>

#include "bench/report.h"

namespace bench {

std::string RenderTable(const Report& report);

}  // namespace bench

#endif  // BENCH_REPORT_TABLE_H_
