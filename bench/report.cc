#include "bench/report.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "rapidjson/prettywriter.h"
#include "rapidjson/stringbuffer.h"

namespace bench {
namespace {

constexpr double kMinThroughputRatio = 0.80;
constexpr double kMaxAddedP50Us = 150;
constexpr double kMaxAddedP99Us = 1000;
constexpr double kMaxServiceCpuUsPerRequest = 60;
constexpr double kMaxRssMb = 64;

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// A count, or "n/a" when it was not measured (-1).
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

}  // namespace

const RunRecord* FindRun(const Report& report, const std::string& mode, int concurrency) {
  for (const RunRecord& run : report.runs) {
    if (run.mode == mode && run.concurrency == concurrency) return &run;
  }
  return nullptr;
}

Machine DescribeMachine() {
  Machine m;
  m.nproc = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  const std::string cpuinfo = ReadFileOrEmpty("/proc/cpuinfo");
  const std::size_t at = cpuinfo.find("model name");
  if (at != std::string::npos) {
    const std::size_t colon = cpuinfo.find(':', at);
    const std::size_t eol = cpuinfo.find('\n', at);
    if (colon != std::string::npos && colon < eol)
      m.cpu_model = cpuinfo.substr(colon + 2, eol - colon - 2);
  }
  utsname u{};
  if (uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release + " " + u.machine;
  m.mem_total_mb = StatusFieldFromText(ReadFileOrEmpty("/proc/meminfo"), "MemTotal") / 1024;
  m.loadavg_start = ReadFileOrEmpty("/proc/loadavg");
  while (!m.loadavg_start.empty() && m.loadavg_start.back() == '\n') m.loadavg_start.pop_back();
  return m;
}

std::vector<Target> EvaluateTargets(const Report& r) {
  std::vector<Target> targets;
  for (int c : {16, 64}) {
    Target t;
    t.name = "throughput through/direct at C=" + std::to_string(c);
    t.limit = ">= 80%";
    const RunRecord* d = FindRun(r, "direct", c);
    const RunRecord* s = FindRun(r, "through", c);
    if (d != nullptr && s != nullptr && d->rps > 0) {
      const double ratio = s->rps / d->rps;
      t.evaluated = true;
      t.met = ratio >= kMinThroughputRatio;
      t.measured = Fmt("%.0f%%", ratio * 100) + " (" + Fmt("%.0f", s->rps) + " vs " +
                   Fmt("%.0f", d->rps) + " req/s)";
    }
    targets.push_back(t);
  }
  {
    const RunRecord* d = FindRun(r, "direct", 1);
    const RunRecord* s = FindRun(r, "through", 1);
    Target p50{"added latency p50 at C=1", "", "<= 150 us"};
    Target p99{"added latency p99 at C=1", "", "<= 1000 us"};
    if (d != nullptr && s != nullptr) {
      const double a50 = s->latency.p50_us - d->latency.p50_us;
      const double a99 = s->latency.p99_us - d->latency.p99_us;
      p50.evaluated = p99.evaluated = true;
      p50.met = a50 <= kMaxAddedP50Us;
      p99.met = a99 <= kMaxAddedP99Us;
      p50.measured = Fmt("%.0f us", a50) + " (" + Fmt("%.0f", s->latency.p50_us) + " - " +
                     Fmt("%.0f", d->latency.p50_us) + ")";
      p99.measured = Fmt("%.0f us", a99) + " (" + Fmt("%.0f", s->latency.p99_us) + " - " +
                     Fmt("%.0f", d->latency.p99_us) + ")";
    }
    targets.push_back(p50);
    targets.push_back(p99);
  }
  {
    Target t{"service CPU per request (worst C)", "", "<= 60 us"};
    double worst = -1;
    std::string detail;
    for (const RunRecord& run : r.runs) {
      if (run.mode != "through") continue;
      const double us = PerRequestUs(run.service_cpu_s, run.requests);
      if (us < 0) continue;
      if (!detail.empty()) detail += ", ";
      detail += "C=" + std::to_string(run.concurrency) + ": " + Fmt("%.1f", us);
      worst = std::max(worst, us);
    }
    if (worst >= 0) {
      t.evaluated = true;
      t.met = worst <= kMaxServiceCpuUsPerRequest;
      t.measured = Fmt("%.1f us", worst) + " (" + detail + ")";
    }
    targets.push_back(t);
  }
  if (r.hold.has_value()) {
    const HoldRecord& h = *r.hold;
    Target rss{"service RSS with " + std::to_string(h.calls) + " calls in flight", "", "<= 64 MB"};
    rss.evaluated = h.rss_kb > 0;
    rss.met = rss.evaluated && h.rss_kb / 1024.0 <= kMaxRssMb;
    rss.measured = Fmt("%.1f MB", h.rss_kb / 1024.0) + " (peak over the run " +
                   Fmt("%.1f MB", h.hwm_kb / 1024.0) + ", before " +
                   Fmt("%.1f MB", h.rss_before_kb / 1024.0) + ")";
    targets.push_back(rss);

    Target conns{"upstream connections <= pool size", "", "<= " + std::to_string(h.pool_size)};
    std::int64_t most = h.upstream_connections;
    for (const RunRecord& run : r.runs) {
      if (run.mode == "through") most = std::max<std::int64_t>(most, run.upstream_max_connections);
    }
    conns.evaluated = h.upstream_connections >= 0;
    conns.met =
        conns.evaluated && most <= h.pool_size && h.upstream_open_connections <= h.pool_size;
    conns.measured = Count(h.upstream_connections) + " with " + std::to_string(h.calls) +
                     " in flight (upstream counts " + Count(h.upstream_open_connections) +
                     "); most during the load runs " + Count(most);
    targets.push_back(conns);

    Target threads{"no thread per request", "", "threads << calls in flight"};
    threads.evaluated = h.threads_during > 0;
    threads.met = threads.evaluated && h.threads_during < std::max(8, h.calls / 10);
    threads.measured = std::to_string(h.threads_during) + " threads with " +
                       std::to_string(h.calls) + " in flight (" + std::to_string(h.threads_before) +
                       " before, " + std::to_string(h.threads_after) + " after)";
    targets.push_back(threads);
  }
  return targets;
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
  line("");
  line("Targets:");
  for (const Target& t : EvaluateTargets(r)) {
    const char* verdict = !t.evaluated ? "not measured" : t.met ? "MET" : "NOT MET";
    char buf[512];
    std::snprintf(buf, sizeof buf, "  %-13s %-44s %s (target %s)", verdict, t.name.c_str(),
                  t.measured.c_str(), t.limit.c_str());
    line(buf);
  }
  if (!r.profile_note.empty()) line("\n" + r.profile_note);
  return out;
}

std::string RenderJson(const Report& r) {
  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
  auto str = [&](const char* key, const std::string& v) {
    w.Key(key);
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  };
  auto dbl = [&](const char* key, double v) {
    w.Key(key);
    if (v < 0 || std::isnan(v)) {
      w.Null();
    } else {
      w.Double(std::round(v * 1000) / 1000);
    }
  };
  auto i64 = [&](const char* key, std::int64_t v) {
    w.Key(key);
    if (v < 0) {
      w.Null();
    } else {
      w.Int64(v);
    }
  };
  w.StartObject();
  str("started_at", r.started_at);
  w.Key("machine");
  w.StartObject();
  i64("nproc", r.machine.nproc);
  str("cpu_model", r.machine.cpu_model);
  str("kernel", r.machine.kernel);
  i64("mem_total_mb", r.machine.mem_total_mb);
  str("loadavg_start", r.machine.loadavg_start);
  str("loadavg_end", r.machine.loadavg_end);
  w.EndObject();
  w.Key("config");
  w.StartObject();
  for (const auto& [k, v] : r.config) str(k.c_str(), v);
  w.EndObject();
  w.Key("runs");
  w.StartArray();
  for (const RunRecord& run : r.runs) {
    w.StartObject();
    str("mode", run.mode);
    i64("concurrency", run.concurrency);
    i64("requests", run.requests);
    i64("errors", run.errors);
    if (!run.first_error.empty()) str("first_error", run.first_error);
    dbl("seconds", run.seconds);
    dbl("requests_per_second", run.rps);
    w.Key("latency_us");
    w.StartObject();
    dbl("mean", run.latency.mean_us);
    dbl("p50", run.latency.p50_us);
    dbl("p90", run.latency.p90_us);
    dbl("p99", run.latency.p99_us);
    dbl("p999", run.latency.p999_us);
    dbl("max", run.latency.max_us);
    w.EndObject();
    dbl("service_cpu_seconds", run.service_cpu_s);
    dbl("service_cpu_us_per_request", PerRequestUs(run.service_cpu_s, run.requests));
    dbl("service_context_switches_per_request",
        run.service_ctx_switches < 0 || run.requests <= 0
            ? -1
            : static_cast<double>(run.service_ctx_switches) / run.requests);
    dbl("upstream_cpu_us_per_request", PerRequestUs(run.upstream_cpu_s, run.requests));
    dbl("loadgen_cpu_us_per_request", PerRequestUs(run.loadgen_cpu_s, run.requests));
    dbl("foreign_cpu_seconds", run.foreign_cpu_s);
    i64("service_rss_kb", run.service_rss_kb);
    i64("service_peak_rss_kb", run.service_hwm_kb);
    i64("service_threads", run.service_threads);
    i64("service_upstream_connections", run.service_upstream_connections);
    i64("upstream_max_connections", run.upstream_max_connections);
    w.EndObject();
  }
  w.EndArray();
  w.Key("ratios_through_over_direct");
  w.StartArray();
  for (int c : Concurrencies(r)) {
    const RunRecord* d = FindRun(r, "direct", c);
    const RunRecord* t = FindRun(r, "through", c);
    if (d == nullptr || t == nullptr) continue;
    w.StartObject();
    i64("concurrency", c);
    dbl("throughput", d->rps > 0 ? t->rps / d->rps : -1);
    dbl("p50", d->latency.p50_us > 0 ? t->latency.p50_us / d->latency.p50_us : -1);
    dbl("p99", d->latency.p99_us > 0 ? t->latency.p99_us / d->latency.p99_us : -1);
    w.Key("added_p50_us");
    w.Double(std::round((t->latency.p50_us - d->latency.p50_us) * 10) / 10);
    w.Key("added_p99_us");
    w.Double(std::round((t->latency.p99_us - d->latency.p99_us) * 10) / 10);
    w.EndObject();
  }
  w.EndArray();
  if (r.hold.has_value()) {
    const HoldRecord& h = *r.hold;
    w.Key("memory_check");
    w.StartObject();
    i64("calls_in_flight", h.calls);
    i64("pool_size", h.pool_size);
    i64("upstream_delay_ms", h.delay_ms);
    i64("completed_before_sample", h.completed_before_sample);
    i64("service_rss_before_kb", h.rss_before_kb);
    i64("service_rss_kb", h.rss_kb);
    i64("service_peak_rss_kb", h.hwm_kb);
    i64("service_threads_before", h.threads_before);
    i64("service_threads_during", h.threads_during);
    i64("service_threads_after", h.threads_after);
    i64("service_upstream_connections", h.upstream_connections);
    i64("upstream_open_connections", h.upstream_open_connections);
    i64("upstream_requests_while_held", h.upstream_requests);
    w.Key("final_codes");
    w.StartObject();
    for (const auto& [code, n] : h.final_codes) i64(code.c_str(), n);
    w.EndObject();
    dbl("seconds_to_drain", h.seconds_to_drain);
    w.EndObject();
  }
  w.Key("targets");
  w.StartArray();
  for (const Target& t : EvaluateTargets(r)) {
    w.StartObject();
    str("name", t.name);
    str("measured", t.measured);
    str("limit", t.limit);
    w.Key("met");
    if (t.evaluated) {
      w.Bool(t.met);
    } else {
      w.Null();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString()) + "\n";
}

// Two panels: throughput and latency (p50, p99) against concurrency, for
// direct and through. The x axis is logarithmic (C = 1, 16, 64).
std::string RenderSvg(const Report& r) {
  const std::vector<int> cs = Concurrencies(r);
  const double W = 980, H = 420, pw = 400, ph = 300, top = 60, left1 = 80, left2 = 570;
  std::string s;
  auto add = [&](const std::string& x) { s += x + "\n"; };
  add("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Fmt("%.0f", W) + "\" height=\"" +
      Fmt("%.0f", H) + "\" font-family=\"sans-serif\" font-size=\"12\">");
  add("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
  add("<text x=\"" + Fmt("%.0f", W / 2) +
      "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">AgLeaderCredentials.GetCredentials: "
      "direct (libcurl to upstream) vs through the service (gRPC)</text>");
  add("<text x=\"" + Fmt("%.0f", W / 2) + "\" y=\"40\" text-anchor=\"middle\" fill=\"#555\">" +
      std::to_string(r.machine.nproc) + " CPUs, " + r.machine.cpu_model + ", " + r.started_at +
      "</text>");
  if (cs.empty()) {
    add("</svg>");
    return s;
  }
  const double lmin = std::log2(std::max(1, cs.front()));
  const double lmax = std::max(lmin + 1, std::log2(std::max(1, cs.back())));
  auto xpos = [&](double left, int c) {
    return left + 20 + (std::log2(std::max(1, c)) - lmin) / (lmax - lmin) * (pw - 40);
  };
  struct Series {
    std::string mode;
    const char* color;
  };
  const Series series[] = {{"direct", "#1f77b4"}, {"through", "#d62728"}};

  auto axes = [&](double left, const std::string& title, const std::string& ylabel) {
    add("<rect x=\"" + Fmt("%.0f", left) + "\" y=\"" + Fmt("%.0f", top) + "\" width=\"" +
        Fmt("%.0f", pw) + "\" height=\"" + Fmt("%.0f", ph) + "\" fill=\"none\" stroke=\"#333\"/>");
    add("<text x=\"" + Fmt("%.0f", left + pw / 2) + "\" y=\"" + Fmt("%.0f", top - 6) +
        "\" text-anchor=\"middle\" font-size=\"13\">" + title + "</text>");
    add("<text x=\"" + Fmt("%.0f", left + pw / 2) + "\" y=\"" + Fmt("%.0f", top + ph + 36) +
        "\" text-anchor=\"middle\">concurrency C (calls in flight)</text>");
    add("<text transform=\"translate(" + Fmt("%.0f", left - 58) + "," + Fmt("%.0f", top + ph / 2) +
        ") rotate(-90)\" text-anchor=\"middle\">" + ylabel + "</text>");
    for (int c : cs) {
      const double x = xpos(left, c);
      add("<line x1=\"" + Fmt("%.1f", x) + "\" y1=\"" + Fmt("%.0f", top + ph) + "\" x2=\"" +
          Fmt("%.1f", x) + "\" y2=\"" + Fmt("%.0f", top + ph + 5) + "\" stroke=\"#333\"/>");
      add("<text x=\"" + Fmt("%.1f", x) + "\" y=\"" + Fmt("%.0f", top + ph + 18) +
          "\" text-anchor=\"middle\">" + std::to_string(c) + "</text>");
    }
  };
  auto polyline = [&](const std::vector<std::pair<double, double>>& pts, const char* color,
                      const char* dash) {
    if (pts.empty()) return;
    std::string p;
    for (const auto& [x, y] : pts) p += Fmt("%.1f", x) + "," + Fmt("%.1f", y) + " ";
    add("<polyline fill=\"none\" stroke=\"" + std::string(color) +
        "\" stroke-width=\"2\" stroke-dasharray=\"" + dash + "\" points=\"" + p + "\"/>");
    for (const auto& [x, y] : pts) {
      add("<circle cx=\"" + Fmt("%.1f", x) + "\" cy=\"" + Fmt("%.1f", y) + "\" r=\"3.5\" fill=\"" +
          color + "\"/>");
    }
  };

  // Throughput, linear y from 0.
  double max_rps = 1;
  for (const RunRecord& run : r.runs) max_rps = std::max(max_rps, run.rps);
  const double step = std::pow(10, std::floor(std::log10(max_rps)));
  double ymax = std::ceil(max_rps * 1.1 / step) * step;
  axes(left1, "Throughput", "requests per second");
  for (int i = 0; i <= 5; ++i) {
    const double v = ymax * i / 5, y = top + ph - ph * i / 5;
    add("<line x1=\"" + Fmt("%.0f", left1) + "\" y1=\"" + Fmt("%.1f", y) + "\" x2=\"" +
        Fmt("%.0f", left1 + pw) + "\" y2=\"" + Fmt("%.1f", y) + "\" stroke=\"#eee\"/>");
    add("<text x=\"" + Fmt("%.0f", left1 - 6) + "\" y=\"" + Fmt("%.1f", y + 4) +
        "\" text-anchor=\"end\">" + Fmt("%.0f", v) + "</text>");
  }
  for (const Series& se : series) {
    std::vector<std::pair<double, double>> pts;
    for (int c : cs) {
      if (const RunRecord* run = FindRun(r, se.mode, c)) {
        pts.emplace_back(xpos(left1, c), top + ph - ph * run->rps / ymax);
      }
    }
    polyline(pts, se.color, "none");
  }

  // Latency, log y.
  double lo = 1e9, hi = 1;
  for (const RunRecord& run : r.runs) {
    if (run.latency.p50_us > 0) lo = std::min(lo, run.latency.p50_us);
    hi = std::max(hi, run.latency.p99_us);
  }
  const double dlo = std::floor(std::log10(std::max(1.0, std::min(lo, hi))));
  const double dhi = std::max(dlo + 1, std::ceil(std::log10(hi)));
  auto ylat = [&](double us) {
    return top + ph - ph * (std::log10(std::max(us, 1.0)) - dlo) / (dhi - dlo);
  };
  axes(left2, "Latency (solid p50, dashed p99)", "microseconds (log scale)");
  for (double d = dlo; d <= dhi; d += 1) {
    const double y = ylat(std::pow(10, d));
    add("<line x1=\"" + Fmt("%.0f", left2) + "\" y1=\"" + Fmt("%.1f", y) + "\" x2=\"" +
        Fmt("%.0f", left2 + pw) + "\" y2=\"" + Fmt("%.1f", y) + "\" stroke=\"#eee\"/>");
    add("<text x=\"" + Fmt("%.0f", left2 - 6) + "\" y=\"" + Fmt("%.1f", y + 4) +
        "\" text-anchor=\"end\">" + Fmt("%.0f", std::pow(10, d)) + "</text>");
  }
  for (const Series& se : series) {
    std::vector<std::pair<double, double>> p50, p99;
    for (int c : cs) {
      if (const RunRecord* run = FindRun(r, se.mode, c)) {
        p50.emplace_back(xpos(left2, c), ylat(run->latency.p50_us));
        p99.emplace_back(xpos(left2, c), ylat(run->latency.p99_us));
      }
    }
    polyline(p50, se.color, "none");
    polyline(p99, se.color, "6,4");
  }
  // Legend.
  double lx = left1;
  for (const Series& se : series) {
    add("<line x1=\"" + Fmt("%.0f", lx) + "\" y1=\"" + Fmt("%.0f", H - 18) + "\" x2=\"" +
        Fmt("%.0f", lx + 24) + "\" y2=\"" + Fmt("%.0f", H - 18) + "\" stroke=\"" + se.color +
        "\" stroke-width=\"2\"/>");
    add("<text x=\"" + Fmt("%.0f", lx + 30) + "\" y=\"" + Fmt("%.0f", H - 14) + "\">" +
        (se.mode == "direct" ? "direct (libcurl -> upstream)"
                             : "through (gRPC -> service -> upstream)") +
        "</text>");
    lx += 300;
  }
  add("</svg>");
  return s;
}

}  // namespace bench
