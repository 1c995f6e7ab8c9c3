#include "bench/report_json.h"

#include <cmath>

#include "bench/report_compare.h"
#include "bench/report_format.h"
#include "bench/report_idle.h"
#include "rapidjson/prettywriter.h"
#include "rapidjson/stringbuffer.h"

namespace bench {

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
  auto write_run = [&](const RunRecord& run) {
    w.StartObject();
    str("mode", run.mode);
    if (run.round > 0) i64("round", run.round);
    i64("concurrency", run.concurrency);
    i64("channels", run.channels);
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
    dbl("process_cpu_seconds", run.proc_cpu_s);
    i64("process_context_switches", run.proc_ctx_switches);
    dbl("process_syscalls", run.proc_syscalls);
    i64("process_peak_rss_kb", run.proc_hwm_kb);
    i64("process_peak_anon_kb", run.proc_anon_peak_kb);
    w.EndObject();
  };
  // The medians over the rounds (per mode, C and channels; `errors` summed),
  // then every round's own record.
  i64("rounds", r.rounds);
  w.Key("runs");
  w.StartArray();
  for (const RunRecord& run : r.runs) write_run(run);
  w.EndArray();
  w.Key("round_runs");
  w.StartArray();
  for (const RunRecord& run : r.round_runs) write_run(run);
  w.EndArray();
  // Per request, as the comparison table shows them (the floor with the
  // direct client's costs added), with the ratios service/Go, service/floor.
  w.Key("comparison");
  w.StartArray();
  auto row = [&](const char* key, const CompareRow& c) {
    w.Key(key);
    w.StartObject();
    dbl("requests_per_second", c.rps);
    dbl("p50_us", c.p50_us);
    dbl("p99_us", c.p99_us);
    dbl("cpu_us_per_request", c.cpu_us);
    dbl("syscalls_per_request", c.syscalls);
    dbl("context_switches_per_request", c.ctx_switches);
    dbl("peak_rss_mb", c.peak_rss_mb);
    w.EndObject();
  };
  auto ratio = [](double a, double b) { return a < 0 || b <= 0 ? -1 : a / b; };
  for (int c : Concurrencies(r)) {
    for (int ch : ChannelCounts(r)) {
      const auto s = CompareFor(r, "through", c, ch);
      if (!s) continue;
      w.StartObject();
      i64("concurrency", c);
      i64("channels", ch);
      row("service", *s);
      for (const char* mode : {"through_warning", "go", "floor"}) {
        const auto o = CompareFor(r, mode, c, ch);
        if (!o) continue;
        row(mode == std::string("through_warning") ? "service_warning" : mode, *o);
        if (mode == std::string("through_warning")) continue;
        CompareRow q;
        q.rps = ratio(s->rps, o->rps);
        q.p50_us = ratio(s->p50_us, o->p50_us);
        q.p99_us = ratio(s->p99_us, o->p99_us);
        q.cpu_us = ratio(s->cpu_us, o->cpu_us);
        q.syscalls = ratio(s->syscalls, o->syscalls);
        q.ctx_switches = ratio(s->ctx_switches, o->ctx_switches);
        q.peak_rss_mb = ratio(s->peak_rss_mb, o->peak_rss_mb);
        row(mode == std::string("go") ? "ratio_service_over_go" : "ratio_service_over_floor", q);
      }
      w.EndObject();
    }
  }
  w.EndArray();
  if (r.head_of_line.has_value()) {
    const HeadOfLineRecord& h = *r.head_of_line;
    w.Key("head_of_line");
    w.StartObject();
    i64("listers", h.listers);
    i64("events", h.events);
    i64("page_size", h.page_size);
    dbl("idle_p50_us", h.idle.p50_us);
    dbl("idle_p99_us", h.idle.p99_us);
    dbl("loaded_p50_us", h.loaded.p50_us);
    dbl("loaded_p99_us", h.loaded.p99_us);
    i64("loaded_gets", h.loaded_gets);
    i64("get_errors", h.get_errors);
    i64("pages", h.pages);
    i64("list_errors", h.list_errors);
    dbl("service_cpu_seconds", h.service_cpu_s);
    dbl("seconds", h.seconds);
    w.EndObject();
  }
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
  if (r.idle_watch.has_value()) {
    const std::string idle = RenderIdleWatchJson(*r.idle_watch);
    w.Key("idle_watch");
    w.RawValue(idle.c_str(), idle.size(), rapidjson::kObjectType);
  }
  w.Key("targets");
  w.StartArray();
  for (const Target& t : EvaluateTargets(r)) {
    w.StartObject();
    str("name", t.name);
    str("measured", t.measured);
    str("limit", t.limit);
    if (t.figure_only) {
      w.Key("figure_only");
      w.Bool(true);
    }
    w.Key("met");
    if (t.evaluated && !t.figure_only) {
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

}  // namespace bench
