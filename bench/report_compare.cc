#include "bench/report_compare.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "bench/report_format.h"

namespace bench {
namespace {

// Issue 23's targets (they replace issue 12's, which also compared with the
// floor and the two log levels: those rows and ratios stay in the table).
constexpr double kMaxCpuOverGo = 1.0;
constexpr double kMinThroughputOverGo = 1.0;
constexpr double kMaxPeakRssMb = 25;
constexpr double kMaxHeadOfLineSlowdown = 2;

double PerRequest(double total, std::int64_t requests) {
  return total < 0 || requests <= 0 ? -1 : total / static_cast<double>(requests);
}

CompareRow RowOf(const RunRecord& run) {
  CompareRow row;
  row.rps = run.rps;
  row.p50_us = run.latency.p50_us;
  row.p99_us = run.latency.p99_us;
  row.cpu_us = PerRequestUs(run.proc_cpu_s, run.requests);
  row.syscalls = PerRequest(run.proc_syscalls, run.requests);
  row.ctx_switches = PerRequest(static_cast<double>(run.proc_ctx_switches), run.requests);
  row.peak_rss_mb = run.proc_hwm_kb < 0 ? -1 : run.proc_hwm_kb / 1024.0;
  row.peak_anon_mb = run.proc_anon_peak_kb < 0 ? -1 : run.proc_anon_peak_kb / 1024.0;
  return row;
}

double AddKnown(double a, double b) { return a < 0 || b < 0 ? -1 : a + b; }

std::string Ratio(double a, double b) { return a < 0 || b <= 0 ? "-" : Fmt("%.2f", a / b); }

Target RatioTarget(const std::string& name, const std::string& limit_text, double value,
                   double limit, bool at_most, const std::string& detail) {
  Target t{name, "", limit_text};
  if (value < 0) return t;
  t.evaluated = true;
  t.met = at_most ? value <= limit : value >= limit;
  t.measured = Fmt("%.2fx", value) + " (" + detail + ")";
  return t;
}

}  // namespace

std::optional<CompareRow> CompareFor(const Report& r, const std::string& mode, int c,
                                     int channels) {
  const RunRecord* run = FindRun(r, mode, c, channels);
  if (run == nullptr) return std::nullopt;
  CompareRow row = RowOf(*run);
  if (mode == "floor") {
    const RunRecord* direct = FindRun(r, "direct", c);
    if (direct == nullptr) return std::nullopt;
    const CompareRow http = RowOf(*direct);
    row.cpu_us = AddKnown(row.cpu_us, http.cpu_us);
    row.syscalls = AddKnown(row.syscalls, http.syscalls);
    row.ctx_switches = AddKnown(row.ctx_switches, http.ctx_switches);
  }
  return row;
}

std::vector<int> ChannelCounts(const Report& r) {
  std::set<int> s;
  for (const RunRecord& run : r.runs) {
    if (run.mode != "direct") s.insert(run.channels);
  }
  return std::vector<int>(s.begin(), s.end());
}

std::vector<Target> EvaluateComparisonTargets(const Report& r) {
  std::vector<Target> out;
  const bool have_go = std::any_of(r.runs.begin(), r.runs.end(),
                                   [](const RunRecord& run) { return run.mode == "go"; });
  // A line for every target, measured or not, so that the reader sees each.
  auto pending = [&](const std::string& name, const std::string& limit,
                     const std::string& what_is_missing) {
    Target t{name, "not measured: " + (have_go ? what_is_missing : std::string("no Go peer")),
             limit};
    return t;
  };
  auto at = [](int c, int ch) {
    return " at C=" + std::to_string(c) + ", " + std::to_string(ch) + " ch";
  };
  for (int c : {16, 64}) {
    for (int ch : {1, 4}) {
      const std::string name = "CPU/request service/Go" + at(c, ch);
      const auto s = CompareFor(r, "through", c, ch);
      const auto go = CompareFor(r, "go", c, ch);
      if (s && go && go->cpu_us > 0 && s->cpu_us >= 0) {
        out.push_back(RatioTarget(name, "<= 1.00x", s->cpu_us / go->cpu_us, kMaxCpuOverGo, true,
                                  Fmt("%.1f", s->cpu_us) + " vs " + Fmt("%.1f us", go->cpu_us)));
      } else {
        out.push_back(pending(name, "<= 1.00x", "no run" + at(c, ch)));
      }
    }
  }
  for (int ch : {1, 4}) {
    const std::string name = "req/s service/Go" + at(64, ch);
    const auto s = CompareFor(r, "through", 64, ch);
    const auto go = CompareFor(r, "go", 64, ch);
    if (s && go && go->rps > 0) {
      out.push_back(RatioTarget(name, ">= 1.00x", s->rps / go->rps, kMinThroughputOverGo, false,
                                Fmt("%.0f", s->rps) + " vs " + Fmt("%.0f req/s", go->rps)));
    } else {
      out.push_back(pending(name, ">= 1.00x", "no run" + at(64, ch)));
    }
  }
  {
    const std::string name = "p50 service/Go" + at(1, 1);
    const auto s = CompareFor(r, "through", 1, 1);
    const auto go = CompareFor(r, "go", 1, 1);
    if (s && go && go->p50_us > 0) {
      out.push_back(RatioTarget(name, "<= 1.00x", s->p50_us / go->p50_us, 1.0, true,
                                Fmt("%.0f", s->p50_us) + " vs " + Fmt("%.0f us", go->p50_us)));
    } else {
      out.push_back(pending(name, "<= 1.00x", "no run" + at(1, 1)));
    }
  }
  {
    // VmHWM: the most the service ever held, up to the end of its C=64 runs.
    double peak = -1;
    std::string detail;
    for (int ch : ChannelCounts(r)) {
      const auto s = CompareFor(r, "through", 64, ch);
      if (!s || s->peak_rss_mb < 0) continue;
      peak = std::max(peak, s->peak_rss_mb);
      detail +=
          (detail.empty() ? "" : ", ") + std::to_string(ch) + " ch " + Fmt("%.1f", s->peak_rss_mb);
    }
    Target t{"service peak RSS (VmHWM) at C=64", "not measured: no run at C=64", "<= 25 MB"};
    if (peak >= 0) {
      t.evaluated = true;
      t.met = peak <= kMaxPeakRssMb;
      t.measured = Fmt("%.1f MB", peak) + " (" + detail + ")";
      // For the reader: how much of it is anonymous memory (heap, stacks),
      // as against file pages of code, beside the Go peer's.
      const auto s = CompareFor(r, "through", 64, 1);
      const auto go = CompareFor(r, "go", 64, 1);
      if (s && s->peak_anon_mb >= 0) {
        t.measured += "; anonymous " + Fmt("%.1f MB", s->peak_anon_mb);
        if (go && go->peak_anon_mb > 0) {
          t.measured += " vs Go " + Fmt("%.1f MB", go->peak_anon_mb) + " (" +
                        Ratio(s->peak_anon_mb, go->peak_anon_mb) + "x, 1 ch)";
        }
      }
    }
    out.push_back(t);
  }
  if (r.head_of_line.has_value() && r.head_of_line->idle.p50_us > 0) {
    const HeadOfLineRecord& h = *r.head_of_line;
    out.push_back(RatioTarget("head of line: Get p50 loaded/idle", "<= 2.00x",
                              h.loaded.p50_us / h.idle.p50_us, kMaxHeadOfLineSlowdown, true,
                              Fmt("%.0f", h.loaded.p50_us) + " vs " +
                                  Fmt("%.0f us", h.idle.p50_us) + ", " + std::to_string(h.pages) +
                                  " pages listed"));
  }
  return out;
}

std::string RenderComparison(const Report& r) {
  std::string out;
  auto line = [&](const std::string& s) { out += s + "\n"; };
  auto num = [](double v, const char* f) { return v < 0 ? std::string("-") : Fmt(f, v); };
  const std::pair<const char*, const char*> modes[] = {{"through", "service (info)"},
                                                       {"through_warning", "service (warning)"},
                                                       {"go", "Go peer"},
                                                       {"floor", "floor (gRPC + HTTP)"}};
  line("");
  line("Service vs Go peer vs floor (per request; CPU, syscalls and context switches of the");
  line("server process; the floor adds the direct libcurl client's own to the trivial gRPC");
  line("server's)");
  for (int c : Concurrencies(r)) {
    for (int ch : ChannelCounts(r)) {
      if (!CompareFor(r, "through", c, ch)) continue;
      char head[256];
      std::snprintf(head, sizeof head, "C = %d, %d channel%s", c, ch, ch == 1 ? "" : "s");
      char cols[256];
      std::snprintf(cols, sizeof cols, "  %-22s %9s %8s %8s %8s %9s %8s %8s %8s", head, "req/s",
                    "p50 us", "p99 us", "CPU us", "syscalls", "ctx sw", "peak MB", "anon MB");
      line(cols);
      for (const auto& [mode, label] : modes) {
        const auto row = CompareFor(r, mode, c, ch);
        if (!row) continue;
        char buf[256];
        std::snprintf(buf, sizeof buf, "    %-20s %9s %8s %8s %8s %9s %8s %8s %8s", label,
                      num(row->rps, "%.0f").c_str(), num(row->p50_us, "%.0f").c_str(),
                      num(row->p99_us, "%.0f").c_str(), num(row->cpu_us, "%.1f").c_str(),
                      num(row->syscalls, "%.2f").c_str(), num(row->ctx_switches, "%.2f").c_str(),
                      num(row->peak_rss_mb, "%.1f").c_str(),
                      num(row->peak_anon_mb, "%.1f").c_str());
        line(buf);
      }
      const auto s = CompareFor(r, "through", c, ch);
      for (const auto& [mode, label] :
           {std::pair<const char*, const char*>{"go", "service/Go"}, {"floor", "service/floor"}}) {
        const auto o = CompareFor(r, mode, c, ch);
        if (!o) continue;
        char buf[256];
        std::snprintf(buf, sizeof buf, "    %-20s %9s %8s %8s %8s %9s %8s %8s %8s", label,
                      Ratio(s->rps, o->rps).c_str(), Ratio(s->p50_us, o->p50_us).c_str(),
                      Ratio(s->p99_us, o->p99_us).c_str(), Ratio(s->cpu_us, o->cpu_us).c_str(),
                      Ratio(s->syscalls, o->syscalls).c_str(),
                      Ratio(s->ctx_switches, o->ctx_switches).c_str(),
                      Ratio(s->peak_rss_mb, o->peak_rss_mb).c_str(),
                      Ratio(s->peak_anon_mb, o->peak_anon_mb).c_str());
        line(buf);
      }
    }
  }
  auto go = r.config.find("go_peer");
  if (go != r.config.end() && go->second.rfind("skipped", 0) == 0) {
    line("  Go peer rows " + go->second);
  }
  if (r.head_of_line.has_value()) {
    const HeadOfLineRecord& h = *r.head_of_line;
    line("");
    line("Head of line: one GetCredentials at a time, idle and while " + std::to_string(h.listers) +
         " callers page through " + std::to_string(h.events) + " events (" +
         std::to_string(h.page_size) + " a page)");
    line("  Get p50 / p99 idle (us): " + Fmt("%.0f", h.idle.p50_us) + " / " +
         Fmt("%.0f", h.idle.p99_us) + "; loaded: " + Fmt("%.0f", h.loaded.p50_us) + " / " +
         Fmt("%.0f", h.loaded.p99_us) + " (" + std::to_string(h.loaded_gets) + " Gets)");
    line("  pages listed: " + std::to_string(h.pages) + " in " + Fmt("%.1f s", h.seconds) +
         ", list errors " + std::to_string(h.list_errors) + ", Get errors " +
         std::to_string(h.get_errors) + ", service CPU " +
         Fmt("%.0f%% of one", h.seconds > 0 ? 100 * h.service_cpu_s / h.seconds : -1));
    if (!h.first_error.empty()) line("  first error: " + h.first_error);
  }
  return out;
}

}  // namespace bench
