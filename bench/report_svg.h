// The plot of a Report: throughput and latency against concurrency, as SVG.
#ifndef BENCH_REPORT_SVG_H_
#define BENCH_REPORT_SVG_H_

#include <string>

#include "bench/report.h"

namespace bench {

std::string RenderSvg(const Report& report);

}  // namespace bench

#endif  // BENCH_REPORT_SVG_H_
