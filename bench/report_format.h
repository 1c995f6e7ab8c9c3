// Number formatting and lookups shared by the renderings of a Report.
#ifndef BENCH_REPORT_FORMAT_H_
#define BENCH_REPORT_FORMAT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "bench/report.h"

namespace bench {

// `v` printed with a printf `format` holding one double conversion.
std::string Fmt(const char* format, double v);

// A count, or "n/a" when it was not measured (-1).
std::string Count(std::int64_t v);

// Microseconds of CPU per request, or -1 when either figure is missing.
double PerRequestUs(double cpu_s, std::int64_t requests);

// The concurrencies the report has runs for, ascending.
std::vector<int> Concurrencies(const Report& r);

}  // namespace bench

#endif  // BENCH_REPORT_FORMAT_H_
