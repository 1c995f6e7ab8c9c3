// Issue 23's idle watchers (IdleWatchRecord, bench/idle_watch_bench.h): the
// figures derived from the record, its targets, and its section of
// results.txt and results.json.
#ifndef BENCH_REPORT_IDLE_H_
#define BENCH_REPORT_IDLE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/report.h"

namespace bench {

// (RSS_open - RSS_before) / streams that got their first message, in KB;
// nullopt when not measured.
std::optional<double> RssPerStreamKb(const IdleWatchRecord& w);

// The same for the floor (gRPC alone); nullopt when not measured.
std::optional<double> FloorRssPerStreamKb(const IdleFloorRecord& f);

// The service's CPU seconds per minute of the idle window; nullopt when not
// measured.
std::optional<double> IdleCpuPerMinute(const IdleWatchRecord& w);

// The stalled stream's RSS growth: its most sampled less its before, in KB;
// nullopt when not measured.
std::optional<std::int64_t> StalledGrowthKb(const StalledStreamRecord& s);

// Three lines, whether or not the scenario ran: RSS per idle stream (<= 16
// KB), the CPU per idle minute (a figure: the issue sets no limit) and the
// stalled stream's bound (met when the service cut it as too slow).
std::vector<Target> IdleWatchTargets(const std::optional<IdleWatchRecord>& w);

// The section of results.txt (no targets: they print with the others).
std::string RenderIdleWatchText(const IdleWatchRecord& w);

// The "idle_watch" object of results.json.
std::string RenderIdleWatchJson(const IdleWatchRecord& w);

}  // namespace bench

#endif  // BENCH_REPORT_IDLE_H_
