// Issue 12's side-by-side view: the service against the Go peer and the
// floor at every (C, channels), with their ratios and issue 23's targets.
// The floor is the trivial gRPC server's run (the cost of gRPC alone) plus,
// per request, the direct libcurl client's own costs at the same C (the cost
// of HTTP alone).
#ifndef BENCH_REPORT_COMPARE_H_
#define BENCH_REPORT_COMPARE_H_

#include <optional>
#include <string>
#include <vector>

#include "bench/report.h"

namespace bench {

// Per-request figures of one server at one (C, channels); -1: not measured.
struct CompareRow {
  double rps = -1, p50_us = -1, p99_us = -1;
  double cpu_us = -1, syscalls = -1, ctx_switches = -1, peak_rss_mb = -1;
  double peak_anon_mb = -1;  // RssAnon, sampled
};

// "through", "through_warning", "go" or "floor" (the latter with the
// direct client's costs added); nullopt when the run is missing.
std::optional<CompareRow> CompareFor(const Report& r, const std::string& mode, int c, int channels);

std::vector<int> ChannelCounts(const Report& r);

// Issue 23's targets against the Go peer (CPU/request at C=16 and 64, req/s
// at C=64, on 1 and 4 channels; p50 at C=1), the service's peak RSS at C=64,
// and the head-of-line one: a line each, "not measured: ..." when the run
// lacks what it needs.
std::vector<Target> EvaluateComparisonTargets(const Report& r);

std::string RenderComparison(const Report& r);

}  // namespace bench

#endif  // BENCH_REPORT_COMPARE_H_
