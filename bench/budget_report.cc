#include "bench/budget_report.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "bench/prom_text.h"
#include "bench/report_format.h"
#include "bench/stats.h"
#include "bench/upstream_control.h"

namespace bench {
namespace {

constexpr char kGranted[] = "agleader_leaf_requests_total";

std::string Seconds(double s) { return Fmt("%.0f", s); }

// A stats field of the emulator's sample, or "n/a" (the emulator has no such
// counter, or was not reachable).
std::string EmulatorField(const BudgetSample& s, const char* key) {
  return Count(JsonInt(s.emulator_stats, key));
}

std::string Codes(const std::map<std::string, std::int64_t>& codes) {
  std::string out;
  for (const auto& [code, n] : codes) {
    out += (out.empty() ? "" : ", ") + code + " " + std::to_string(n);
  }
  return out.empty() ? "none" : out;
}

std::string Codes(const std::map<std::string, int>& codes) {
  std::map<std::string, std::int64_t> wide(codes.begin(), codes.end());
  return Codes(wide);
}

std::string Ms(double us) { return Fmt("%.1f", us / 1000); }

}  // namespace

double RequestsPerMinute(const BudgetSample& from, const BudgetSample& to, const char* klass) {
  const double minutes = (to.at_s - from.at_s) / 60;
  if (minutes <= 0) return 0;
  const double delta = SumSamples(to.metrics, kGranted, "class", klass) -
                       SumSamples(from.metrics, kGranted, "class", klass);
  return std::max(0.0, delta) / minutes;
}

std::string RenderBudgetReport(BudgetRun& run) {
  std::ostringstream o;
  o << "Budget scenario (issue 20): " << run.users << " users watched in " << run.streams
    << " WatchCredentials streams, " << run.callers << " callers doing GetCredentials (pause "
    << run.caller_pause_ms << " ms), one BatchGetCredentials of " << run.batch_users << " users in "
    << run.batch_calls << " calls; " << run.seconds << " s.\n";
  o << "Leaf budget: " << run.requests_per_minute << " requests/min, burst " << run.burst
    << (run.service_budgeted ? "" : " (NOT given to the service: it has no such flags)")
    << "; emulator limit "
    << (run.emulator_limited ? std::to_string(run.requests_per_minute) + "/min"
                             : "off (the emulator has no --rate_limit_per_minute)")
    << ".\n";
  for (const std::string& note : run.notes) o << "Note: " << note << "\n";
  if (run.samples.size() < 2) {
    o << "No figures: the run was not sampled.\n";
    return o.str();
  }
  const BudgetSample& first = run.samples.front();
  const BudgetSample& last = run.samples.back();
  if (!HasMetric(last.metrics, kGranted)) {
    o << "Note: the service's /metrics has no " << kGranted << " series: counted as 0.\n";
  }

  o << "\nLeaf requests per minute by class (granted by the service's budget, " << kGranted
    << "{class}):\n\n";
  o << "| window | caller | prompted | poll | bulk | total | emulator: accepted in the last "
       "minute |\n|---|---|---|---|---|---|---|\n";
  auto row = [&](const std::string& label, const BudgetSample& from, const BudgetSample& to) {
    o << "| " << label;
    double total = 0;
    for (const char* klass : kBudgetClasses) {
      const double v = RequestsPerMinute(from, to, klass);
      total += v;
      o << " | " << Fmt("%.0f", v);
    }
    o << " | " << Fmt("%.0f", total) << " | " << EmulatorField(to, "requests_in_last_minute")
      << " |\n";
  };
  for (std::size_t i = 1; i < run.samples.size(); ++i) {
    row(Seconds(run.samples[i - 1].at_s) + "-" + Seconds(run.samples[i].at_s) + " s",
        run.samples[i - 1], run.samples[i]);
  }
  if (run.samples.size() > 2) row("whole run", first, last);

  const std::int64_t limited0 = JsonInt(first.emulator_stats, "rate_limited_count");
  const std::int64_t limited1 = JsonInt(last.emulator_stats, "rate_limited_count");
  o << "\nLeaf's 429s (emulator rate_limited_count): "
    << (limited0 < 0 || limited1 < 0 ? "n/a" : std::to_string(limited1 - limited0))
    << " (target 0); as the service saw them (agleader_leaf_rate_limited_total): "
    << Fmt("%.0f", SumSamples(last.metrics, "agleader_leaf_rate_limited_total") -
                       SumSamples(first.metrics, "agleader_leaf_rate_limited_total"))
    << "\n";
  o << "Most requests Leaf accepted in any 60 s (emulator max_requests_in_any_minute): "
    << EmulatorField(last, "max_requests_in_any_minute") << " (budget " << run.requests_per_minute
    << ")\n";
  o << "Rate in force at the end (agleader_leaf_budget_requests_per_minute): "
    << Fmt("%.0f", SumSamples(last.metrics, "agleader_leaf_budget_requests_per_minute"))
    << "/min; requests that waited for the budget: ";
  for (const char* klass : kBudgetClasses) {
    o << klass << " "
      << Fmt("%.0f",
             SumSamples(last.metrics, "agleader_leaf_budget_waits_total", "class", klass) -
                 SumSamples(first.metrics, "agleader_leaf_budget_waits_total", "class", klass))
      << (klass == kBudgetClasses[3] ? "" : ", ");
  }
  o << "; reads coalesced: "
    << Fmt("%.0f", SumSamples(last.metrics, "agleader_leaf_coalesced_total") -
                       SumSamples(first.metrics, "agleader_leaf_coalesced_total"))
    << "\n";
  o << "Effective poll interval (agleader_watch_effective_poll_interval_seconds): "
    << Fmt("%.1f", SumSamples(last.metrics, "agleader_watch_effective_poll_interval_seconds"))
    << " s\n";

  const std::int64_t calls = static_cast<std::int64_t>(run.callers_figures.latencies_ns.size());
  const LatencySummary latency = Summarize(run.callers_figures.latencies_ns);
  o << "\nCallers: " << calls << " GetCredentials, p50 " << Ms(latency.p50_us) << " ms, p99 "
    << Ms(latency.p99_us) << " ms, max " << Ms(latency.max_us)
    << " ms; by code: " << Codes(run.callers_figures.codes) << "\n";
  o << "BatchGetCredentials: " << run.batch.users << " users in " << run.batch.calls
    << " calls: fetched " << run.batch.fetched << ", LEAF_RATE_LIMITED " << run.batch.rate_limited
    << ", other errors: " << Codes(run.batch.other_errors) << "; calls ended "
    << Codes(run.batch.call_codes) << ", the last after " << Fmt("%.1f", run.batch.seconds)
    << " s\n";
  o << "Watch: " << run.watch.streams << " streams; " << run.watch.initial
    << " CHANGE_KIND_INITIAL (of " << run.users << " users; "
    << (run.watch.all_initial_after_s >= 0
            ? "all after " + Fmt("%.1f", run.watch.all_initial_after_s) + " s"
            : std::string("not all by the end"))
    << "), " << run.watch.errors << " CHANGE_KIND_ERROR, " << run.watch.changes
    << " other changes; streams that ended before the end: " << Codes(run.watch.ended) << "\n";
  return o.str();
}

}  // namespace bench
