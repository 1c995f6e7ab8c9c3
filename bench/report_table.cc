#include "bench/report_table.h"

#include <cstdio>
#include <utility>

#include "bench/report_compare.h"
#include "bench/report_format.h"
#include "bench/report_idle.h"

namespace bench {

std::string RenderTargets(const std::vector<Target>& targets) {
  std::string out = "Targets:\n";
  for (const Target& t : targets) {
    const char* verdict = !t.evaluated    ? "not measured"
                          : t.figure_only ? "FIGURE"
                          : t.met         ? "MET"
                                          : "NOT MET";
    char buf[512];
    std::snprintf(buf, sizeof buf, "  %-13s %-46s %s (target %s)\n", verdict, t.name.c_str(),
                  t.measured.c_str(), t.limit.c_str());
    out += buf;
  }
  return out;
}

std::string RenderTable(const Report& r) {
  std::string out;
  auto line = [&](const std::string& s) { out += s + "\n"; };
  auto row = [&](const std::string& label, const std::string& d, const std::string& t,
                 const std::string& ratio) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "  %-34s %12s %12s %10s", label.c_str(), d.c_str(), t.c_str(),
                  ratio.c_str());
    line(buf);
  };
  auto num = [](double v, const char* f) { return v < 0 ? std::string("-") : Fmt(f, v); };
  auto ratio = [](double t, double d) {
    return (t < 0 || d <= 0) ? std::string("") : Fmt("%.2f", t / d);
  };

  line("Machine: " + std::to_string(r.machine.nproc) + " CPUs (" + r.machine.cpu_model + "), " +
       std::to_string(r.machine.mem_total_mb) + " MB, " + r.machine.kernel);
  line("Load average at start: " + r.machine.loadavg_start + "; at end: " + r.machine.loadavg_end);
  std::string config;
  for (const auto& [k, v] : r.config) config += (config.empty() ? "" : ", ") + k + "=" + v;
  line("Setup: " + config);
  if (r.rounds > 1) {
    line("Every figure below is the median of " + std::to_string(r.rounds) +
         " interleaved rounds (errors: the sum); each round's own in results.json round_runs.");
  }
  for (int c : Concurrencies(r)) {
    const RunRecord* d = FindRun(r, "direct", c);
    const RunRecord* t = FindRun(r, "through", c);
    RunRecord none;
    const RunRecord& dd = d ? *d : none;
    const RunRecord& tt = t ? *t : none;
    line("");
    char head[128];
    std::snprintf(head, sizeof head, "C = %-32d %12s %12s %10s", c, "direct", "through", "thr/dir");
    line(head);
    row("requests/s", num(d ? dd.rps : -1, "%.0f"), num(t ? tt.rps : -1, "%.0f"),
        ratio(t ? tt.rps : -1, d ? dd.rps : -1));
    const std::pair<const char*, double LatencySummary::*> lats[] = {
        {"latency p50 (us)", &LatencySummary::p50_us},
        {"latency p90 (us)", &LatencySummary::p90_us},
        {"latency p99 (us)", &LatencySummary::p99_us},
        {"latency max (us)", &LatencySummary::max_us}};
    for (const auto& [label, field] : lats) {
      const double dv = d ? dd.latency.*field : -1;
      const double tv = t ? tt.latency.*field : -1;
      row(label, num(dv, "%.0f"), num(tv, "%.0f"), ratio(tv, dv));
    }
    row("requests (errors)",
        d ? std::to_string(dd.requests) + " (" + std::to_string(dd.errors) + ")" : "-",
        t ? std::to_string(tt.requests) + " (" + std::to_string(tt.errors) + ")" : "-", "");
    row("service CPU (us/request)", "-", num(PerRequestUs(tt.service_cpu_s, tt.requests), "%.1f"),
        "");
    row("service context switches/request", "-",
        num(tt.service_ctx_switches < 0 || tt.requests <= 0
                ? -1
                : static_cast<double>(tt.service_ctx_switches) / tt.requests,
            "%.2f"),
        "");
    row("upstream CPU (us/request)", num(PerRequestUs(dd.upstream_cpu_s, dd.requests), "%.1f"),
        num(PerRequestUs(tt.upstream_cpu_s, tt.requests), "%.1f"), "");
    row("load generator CPU (us/request)", num(PerRequestUs(dd.loadgen_cpu_s, dd.requests), "%.1f"),
        num(PerRequestUs(tt.loadgen_cpu_s, tt.requests), "%.1f"), "");
    auto util = [&](const RunRecord& run, double cpu) {
      return (cpu < 0 || run.seconds <= 0) ? -1.0 : 100.0 * cpu / run.seconds;
    };
    row("upstream busy (% of one CPU)", num(d ? util(dd, dd.upstream_cpu_s) : -1, "%.0f%%"),
        num(t ? util(tt, tt.upstream_cpu_s) : -1, "%.0f%%"), "");
    row("other CPU on machine (% of one)", num(d ? util(dd, dd.foreign_cpu_s) : -1, "%.0f%%"),
        num(t ? util(tt, tt.foreign_cpu_s) : -1, "%.0f%%"), "");
    row("service peak RSS (MB)", "-",
        num(tt.service_hwm_kb < 0 ? -1 : tt.service_hwm_kb / 1024.0, "%.1f"), "");
    row("service threads", "-", num(static_cast<double>(tt.service_threads), "%.0f"), "");
    row("service upstream connections", "-",
        num(static_cast<double>(tt.service_upstream_connections), "%.0f"), "");
    if (!dd.first_error.empty()) line("  first direct error: " + dd.first_error);
    if (!tt.first_error.empty()) line("  first through error: " + tt.first_error);
  }
  if (r.hold.has_value()) {
    const HoldRecord& h = *r.hold;
    line("");
    line("Memory check: " + std::to_string(h.calls) + " GetCredentials in flight, upstream delay " +
         std::to_string(h.delay_ms) + " ms, pool " + std::to_string(h.pool_size));
    line("  service RSS before / during / peak (MB): " + Fmt("%.1f", h.rss_before_kb / 1024.0) +
         " / " + Fmt("%.1f", h.rss_kb / 1024.0) + " / " + Fmt("%.1f", h.hwm_kb / 1024.0));
    line("  service threads before / during / after: " + std::to_string(h.threads_before) + " / " +
         std::to_string(h.threads_during) + " / " + std::to_string(h.threads_after));
    line("  service ESTABLISHED connections to upstream: " + Count(h.upstream_connections) +
         " (upstream counts " + Count(h.upstream_open_connections) + ", received " +
         Count(h.upstream_requests) + " requests while held)");
    std::string codes;
    for (const auto& [code, n] : h.final_codes) {
      codes += (codes.empty() ? "" : ", ") + code + " " + std::to_string(n);
    }
    line("  completed before the sample: " + std::to_string(h.completed_before_sample) +
         "; after cancelling: " + codes + " (drained in " + Fmt("%.2f s", h.seconds_to_drain) +
         ")");
  }
  out += RenderComparison(r);
  if (r.idle_watch.has_value()) out += RenderIdleWatchText(*r.idle_watch);
  line("");
  out += RenderTargets(EvaluateTargets(r));
  if (!r.profile_note.empty()) line("\n" + r.profile_note);
  return out;
}

}  // namespace bench
