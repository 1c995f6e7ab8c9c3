// Reading figures out of a Prometheus text exposition (the service's
// /metrics), leniently: a series that is not there counts as 0, so the
// benchmark runs against a service that does not export it (yet).
#ifndef BENCH_PROM_TEXT_H_
#define BENCH_PROM_TEXT_H_

#include <string_view>

namespace bench {

// The sum of the samples of metric `name` (exactly that name: no _bucket,
// _sum or _count suffixes) whose labels include label_key="label_value" (any
// labels when `label_key` is empty); 0 when there are none. Comment lines
// and lines that do not parse are skipped.
double SumSamples(std::string_view text, std::string_view name, std::string_view label_key = "",
                  std::string_view label_value = "");

// Whether any sample of metric `name` is in `text`.
bool HasMetric(std::string_view text, std::string_view name);

}  // namespace bench

#endif  // BENCH_PROM_TEXT_H_
