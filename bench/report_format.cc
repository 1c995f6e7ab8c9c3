#include "bench/report_format.h"

#include <cstdio>
#include <set>

namespace bench {

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string Count(std::int64_t v) { return v < 0 ? "n/a" : std::to_string(v); }

double PerRequestUs(double cpu_s, std::int64_t requests) {
  if (cpu_s < 0 || requests <= 0) return -1;
  return cpu_s * 1e6 / static_cast<double>(requests);
}

std::vector<int> Concurrencies(const Report& r) {
  std::set<int> cs;
  for (const RunRecord& run : r.runs) cs.insert(run.concurrency);
  return {cs.begin(), cs.end()};
}

}  // namespace bench
