// The machine-readable rendering of a Report: bench/out/results.json.
#ifndef BENCH_REPORT_JSON_H_
#define BENCH_REPORT_JSON_H_

#include <string>

#include "bench/report.h"

namespace bench {

std::string RenderJson(const Report& report);

}  // namespace bench

#endif  // BENCH_REPORT_JSON_H_
