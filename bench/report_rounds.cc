#include "bench/report_rounds.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <tuple>

namespace bench {
namespace {

using Key = std::tuple<std::string, int, int>;

Key KeyOf(const RunRecord& r) { return {r.mode, r.concurrency, r.channels}; }

double Median(const std::vector<const RunRecord*>& runs,
              const std::function<double(const RunRecord&)>& get) {
  std::vector<double> v;
  v.reserve(runs.size());
  for (const RunRecord* r : runs) v.push_back(get(*r));
  return MedianOf(std::move(v));
}

std::int64_t RoundCount(double v) { return v < 0 ? -1 : std::llround(v); }

// A per-request median stored against `requests`: -1 stays -1.
double Scaled(double per_request, std::int64_t requests) {
  return per_request < 0 ? -1 : per_request * static_cast<double>(requests);
}

double PerRequest(double total, std::int64_t requests) {
  return total < 0 || requests <= 0 ? -1 : total / static_cast<double>(requests);
}

RunRecord MedianRecord(const std::vector<const RunRecord*>& g) {
  RunRecord m;
  const RunRecord& first = *g.front();
  m.mode = first.mode;
  m.concurrency = first.concurrency;
  m.channels = first.channels;
  m.round = 0;
  for (const RunRecord* r : g) {
    m.errors += r->errors;
    if (m.first_error.empty()) m.first_error = r->first_error;
  }
  m.requests = RoundCount(Median(g, [](const RunRecord& r) { return double(r.requests); }));
  m.seconds = Median(g, [](const RunRecord& r) { return r.seconds; });
  m.rps = Median(g, [](const RunRecord& r) { return r.rps; });
  double LatencySummary::*const latency[] = {&LatencySummary::mean_us, &LatencySummary::p50_us,
                                             &LatencySummary::p90_us,  &LatencySummary::p99_us,
                                             &LatencySummary::p999_us, &LatencySummary::max_us};
  for (double LatencySummary::*field : latency) {
    m.latency.*field = Median(g, [field](const RunRecord& r) { return r.latency.*field; });
  }
  m.latency.count =
      RoundCount(Median(g, [](const RunRecord& r) { return double(r.latency.count); }));
  // Totals over the window, as the median per request times the median count.
  double RunRecord::*const per_request[] = {&RunRecord::service_cpu_s, &RunRecord::upstream_cpu_s,
                                            &RunRecord::loadgen_cpu_s, &RunRecord::proc_cpu_s,
                                            &RunRecord::proc_syscalls};
  for (double RunRecord::*field : per_request) {
    m.*field =
        Scaled(Median(g, [field](const RunRecord& r) { return PerRequest(r.*field, r.requests); }),
               m.requests);
  }
  std::int64_t RunRecord::*const count_per_request[] = {&RunRecord::service_ctx_switches,
                                                        &RunRecord::proc_ctx_switches};
  for (std::int64_t RunRecord::*field : count_per_request) {
    m.*field = RoundCount(Scaled(
        Median(g, [field](const RunRecord& r) { return PerRequest(double(r.*field), r.requests); }),
        m.requests));
  }
  const double share = Median(g, [](const RunRecord& r) {
    return r.foreign_cpu_s < 0 || r.seconds <= 0 ? -1 : r.foreign_cpu_s / r.seconds;
  });
  m.foreign_cpu_s = share < 0 ? -1 : share * m.seconds;
  std::int64_t RunRecord::*const direct[] = {&RunRecord::service_rss_kb, &RunRecord::service_hwm_kb,
                                             &RunRecord::service_threads, &RunRecord::proc_hwm_kb,
                                             &RunRecord::proc_anon_peak_kb};
  for (std::int64_t RunRecord::*field : direct) {
    m.*field = RoundCount(Median(g, [field](const RunRecord& r) { return double(r.*field); }));
  }
  // The most over the rounds: the targets compare the most with the pool.
  for (const RunRecord* r : g) {
    m.service_upstream_connections =
        std::max(m.service_upstream_connections, r->service_upstream_connections);
    m.upstream_max_connections = std::max(m.upstream_max_connections, r->upstream_max_connections);
  }
  return m;
}

}  // namespace

double MedianOf(std::vector<double> values) {
  values.erase(
      std::remove_if(values.begin(), values.end(), [](double v) { return v < 0 || std::isnan(v); }),
      values.end());
  if (values.empty()) return -1;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::vector<RunRecord> MedianOfRounds(const std::vector<RunRecord>& rounds) {
  std::vector<Key> order;
  std::vector<std::vector<const RunRecord*>> groups;
  for (const RunRecord& r : rounds) {
    const Key k = KeyOf(r);
    auto it = std::find(order.begin(), order.end(), k);
    if (it == order.end()) {
      order.push_back(k);
      groups.emplace_back();
      it = order.end() - 1;
    }
    groups[static_cast<std::size_t>(it - order.begin())].push_back(&r);
  }
  std::vector<RunRecord> out;
  out.reserve(groups.size());
  for (const auto& g : groups) out.push_back(MedianRecord(g));
  return out;
}

}  // namespace bench
