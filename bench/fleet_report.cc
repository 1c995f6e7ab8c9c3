#include "bench/fleet_report.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "bench/prom_text.h"
#include "bench/report_format.h"
#include "bench/stats.h"
#include "bench/upstream_control.h"
#include "rapidjson/document.h"

namespace bench {
namespace {

constexpr char kGranted[] = "agleader_leaf_requests_total";
constexpr const char* kClasses[] = {"poll", "prompted", "caller", "bulk"};

std::string Ms(double us) { return Fmt("%.1f", us / 1000); }

std::string Replica(std::size_t i) { return "replica " + std::to_string(i + 1); }

std::string Codes(const std::map<std::string, std::int64_t>& codes) {
  std::string out;
  for (const auto& [code, n] : codes) {
    out += (out.empty() ? "" : ", ") + code + " " + std::to_string(n);
  }
  return out.empty() ? "none" : out;
}

// A metric's value on replica `i` of a sample, or "n/a" without its text.
std::string Gauge(const FleetSample& s, std::size_t i, const char* name, const char* format) {
  if (i >= s.metrics.size() || s.metrics[i].empty() || !HasMetric(s.metrics[i], name)) {
    return "n/a";
  }
  return Fmt(format, SumSamples(s.metrics[i], name));
}

// The emulator's counter at the end minus at the beginning, or -1.
std::int64_t EmulatorDelta(const FleetRun& run, const char* key) {
  const std::int64_t a = JsonInt(run.begin.emulator_stats, key);
  const std::int64_t b = JsonInt(run.end.emulator_stats, key);
  return a < 0 || b < 0 ? -1 : b - a;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The integer value of `key` in a query string, or `fallback`.
std::int64_t QueryInt(const std::string& query, const std::string& key, std::int64_t fallback) {
  std::size_t at = 0;
  while (at < query.size()) {
    const std::size_t end = std::min(query.find('&', at), query.size());
    const std::string pair = query.substr(at, end - at);
    if (pair.rfind(key + "=", 0) == 0) {
      const std::string value = pair.substr(key.size() + 1);
      char* stop = nullptr;
      const long long n = std::strtoll(value.c_str(), &stop, 10);
      return value.empty() || *stop != '\0' ? fallback : n;
    }
    at = end + 1;
  }
  return fallback;
}

}  // namespace

std::optional<LeafReads> CountLeafReads(const std::string& requests_json, int listed_users) {
  rapidjson::Document doc;
  doc.Parse(requests_json.c_str());
  if (doc.HasParseError() || !doc.IsArray()) return std::nullopt;
  LeafReads reads;
  for (const auto& r : doc.GetArray()) {
    if (!r.IsObject()) continue;
    auto text = [&](const char* key) -> std::string {
      auto it = r.FindMember(key);
      return it != r.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
    };
    auto status = r.FindMember("status");
    if (text("method") != "GET" || status == r.MemberEnd() || !status->value.IsInt() ||
        status->value.GetInt() != 200) {
      continue;
    }
    const std::string path = text("path");
    if (EndsWith(path, "/ag-leader-credentials")) {
      ++reads.gets;
      ++reads.users;
    } else if (EndsWith(path, "/api/users")) {
      // Spring's defaults, as the emulator's: page 0, size 20.
      const std::int64_t page = QueryInt(text("query"), "page", 0);
      const std::int64_t size = QueryInt(text("query"), "size", 20);
      ++reads.pages;
      reads.users += std::max<std::int64_t>(0, std::min(size, listed_users - page * size));
    }
  }
  return reads;
}

double PerUserPerInterval(std::int64_t reads, int users, double seconds, double interval_s) {
  if (reads < 0 || users <= 0 || seconds <= 0 || interval_s <= 0) return -1;
  return static_cast<double>(reads) / users / (seconds / interval_s);
}

std::string RenderFleetReport(FleetRun& run) {
  std::ostringstream o;
  o << "Fleet scenario (issue 21): " << run.replicas << " replicas and one Redis; " << run.users
    << " users watched by " << run.streams << " WatchCredentials streams (";
  int on_two = 0;
  for (std::size_t i = 0; i < run.alerts.size(); ++i) {
    o << (i ? ", " : "") << Replica(i) << ": " << run.alerts[i].streams;
  }
  on_two = std::min(run.replicas, run.users > 0 ? run.streams / run.users : 0);
  o << "; each user on " << on_two << " replicas); poll interval " << run.poll_interval_s
    << " s; an alert every " << run.alert_every_ms << " ms, all to replica 1; " << run.seconds
    << " s measured.\n";
  o << "Leaf budget: " << run.requests_per_minute << " requests/min for the fleet ("
    << (run.fleet_flags ? "--leaf_requests_per_minute=" + std::to_string(run.requests_per_minute) +
                              " --fleet_size_hint=" + std::to_string(run.replicas) +
                              " on each replica, shared through Redis"
                        : "NOT shared: the replicas have no --fleet_size_hint, each was given " +
                              std::to_string(run.budget_per_replica) + "/min by hand")
    << "); emulator limit " << run.requests_per_minute << "/min.\n";
  for (const std::string& note : run.notes) o << "Note: " << note << "\n";
  o << "Redis as each replica saw it at the end (agleader_fleet_redis_up):";
  for (int i = 0; i < run.replicas; ++i) {
    o << (i ? "," : "") << " " << Replica(i) << " "
      << Gauge(run.end, i, "agleader_fleet_redis_up", "%.0f");
  }
  o << "\nEvery stream had its CHANGE_KIND_INITIAL "
    << (run.all_initial_after_s >= 0 ? "after " + Fmt("%.1f", run.all_initial_after_s) + " s"
                                     : std::string("NOT by the start of the measured window"))
    << ".\n";

  o << "\nAlert-to-watcher latency by the stream's replica (from the alert's POST to replica 1 "
       "until the change reached each stream of its user; target p99 <= "
    << Fmt("%.0f", kAlertP99TargetMs) << " ms on every replica):\n\n";
  o << "| replica | streams | changes timed | p50 ms | p99 ms | max ms | missed | by source | "
       "p99 on target |\n|---|---|---|---|---|---|---|---|---|\n";
  for (std::size_t i = 0; i < run.alerts.size(); ++i) {
    ReplicaAlertFigures& r = run.alerts[i];
    const LatencySummary l = Summarize(r.latencies_ns);
    const bool timed = !r.latencies_ns.empty();
    o << "| " << i + 1 << " | " << r.streams << " | " << r.latencies_ns.size() << " | "
      << (timed ? Ms(l.p50_us) : "n/a") << " | " << (timed ? Ms(l.p99_us) : "n/a") << " | "
      << (timed ? Ms(l.max_us) : "n/a") << " | " << r.missed << " | " << Codes(r.by_source) << " | "
      << (!timed ? "n/a" : (l.p99_us / 1000 <= kAlertP99TargetMs && r.missed == 0 ? "yes" : "NO"))
      << " |\n";
  }
  o << "\nAlerts sent: " << run.alerts_sent << " (failed to send: " << run.alert_errors << ")\n";

  const double seconds = run.end.at_s - run.begin.at_s;
  const bool counted = run.begin.reads.has_value() && run.end.reads.has_value();
  LeafReads window;
  if (counted) {
    window.gets = run.end.reads->gets - run.begin.reads->gets;
    window.pages = run.end.reads->pages - run.begin.reads->pages;
    window.users = run.end.reads->users - run.begin.reads->users;
  }
  const std::int64_t reads = counted ? window.users : -1;
  const double per_interval = PerUserPerInterval(reads, run.users, seconds, run.poll_interval_s);
  // Each alert costs the fleet at most one prompted read when the polls are
  // shared.
  const double allowance =
      PerUserPerInterval(run.alerts_sent, run.users, seconds, run.poll_interval_s);
  const double target = 1.0 + std::max(0.0, allowance);
  o << "Leaf reads per user per poll interval, whole fleet: "
    << (per_interval < 0 ? "n/a" : Fmt("%.2f", per_interval)) << " (target <= 1.0 + "
    << Fmt("%.2f", std::max(0.0, allowance)) << " for the alerts' reads = " << Fmt("%.2f", target)
    << ")"
    << (per_interval < 0                ? ""
        : per_interval <= target + 1e-9 ? ": on target"
                                        : ": OVER")
    << "\n  (the emulator, in the " << Fmt("%.0f", seconds) << " s measured: "
    << (counted ? std::to_string(window.gets) + " GETs of ag-leader-credentials + " +
                      std::to_string(window.pages) +
                      " listing pages (sweeps) = " + std::to_string(window.users) + " user reads"
                : std::string("n/a user reads"))
    << ")\n";
  o << "The replicas' own count (" << kGranted << "{class}, in the window):";
  for (int i = 0; i < run.replicas; ++i) {
    o << (i ? ";" : "") << " " << Replica(i);
    for (const char* klass : kClasses) {
      const bool known = static_cast<std::size_t>(i) < run.end.metrics.size() &&
                         static_cast<std::size_t>(i) < run.begin.metrics.size() &&
                         HasMetric(run.end.metrics[i], kGranted);
      o << " " << klass << " "
        << (known ? Fmt("%.0f", SumSamples(run.end.metrics[i], kGranted, "class", klass) -
                                    SumSamples(run.begin.metrics[i], kGranted, "class", klass))
                  : "n/a");
    }
  }
  o << "\n";
  const std::int64_t most = JsonInt(run.end.emulator_stats, "max_requests_in_any_minute");
  o << "Most requests Leaf accepted in any 60 s (emulator max_requests_in_any_minute): "
    << Count(most) << " (budget " << run.requests_per_minute << ")"
    << (most < 0                          ? ""
        : most <= run.requests_per_minute ? ": within"
                                          : ": OVER")
    << "\n";
  o << "Leaf's 429s in the window (emulator rate_limited_count): "
    << Count(EmulatorDelta(run, "rate_limited_count")) << " (target 0)\n";
  o << "Effective poll interval (agleader_watch_effective_poll_interval_seconds):";
  for (int i = 0; i < run.replicas; ++i) {
    o << (i ? "," : "") << " " << Replica(i) << " "
      << Gauge(run.end, i, "agleader_watch_effective_poll_interval_seconds", "%.1f") << " s";
  }
  o << "\nWatch: " << run.streams << " streams; " << run.watch.initial << " CHANGE_KIND_INITIAL, "
    << run.watch.errors << " CHANGE_KIND_ERROR, " << run.watch.changes
    << " other changes; streams that ended before the end: ";
  std::map<std::string, std::int64_t> ended(run.watch.ended.begin(), run.watch.ended.end());
  o << Codes(ended) << "\n";
  return o.str();
}

}  // namespace bench
