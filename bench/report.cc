#include "bench/report.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>

#include "bench/report_compare.h"
#include "bench/report_format.h"
#include "bench/report_idle.h"

namespace bench {
namespace {

constexpr double kMinThroughputRatio = 0.80;
constexpr double kMaxAddedP50Us = 150;
constexpr double kMaxAddedP99Us = 1000;
constexpr double kMaxServiceCpuUsPerRequest = 60;
constexpr double kMaxRssMb = 64;
}  // namespace

const RunRecord* FindRun(const Report& report, const std::string& mode, int concurrency,
                         int channels) {
  for (const RunRecord& run : report.runs) {
    if (run.mode == mode && run.concurrency == concurrency &&
        (run.channels == channels || mode == "direct")) {
      return &run;
    }
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
    // The service's own ESTABLISHED connections at the end of each run: the
    // upstream's count would include the idle ones of the other servers
    // measured in the same run (Go peer, second service).
    for (const RunRecord& run : r.runs) {
      if (run.mode == "through") {
        most = std::max<std::int64_t>(most, run.service_upstream_connections);
      }
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
  for (Target& t : EvaluateComparisonTargets(r)) targets.push_back(std::move(t));
  for (Target& t : IdleWatchTargets(r.idle_watch)) targets.push_back(std::move(t));
  return targets;
}

}  // namespace bench
