#include "bench/report_idle.h"

#include <cmath>

#include "bench/report_format.h"
#include "rapidjson/prettywriter.h"
#include "rapidjson/stringbuffer.h"

namespace bench {
namespace {

constexpr double kMaxRssPerIdleStreamKb = 16;

std::string Mb(std::int64_t kb) { return kb < 0 ? "n/a" : Fmt("%.1f MB", kb / 1024.0); }

}  // namespace

std::optional<double> RssPerStreamKb(const IdleWatchRecord& w) {
  if (w.opened_ok <= 0 || w.rss_before_kb < 0 || w.rss_open_kb < 0) return std::nullopt;
  return static_cast<double>(w.rss_open_kb - w.rss_before_kb) / w.opened_ok;
}

std::optional<double> FloorRssPerStreamKb(const IdleFloorRecord& f) {
  if (!f.measured || f.opened_ok <= 0 || f.rss_before_kb < 0 || f.rss_open_kb < 0) {
    return std::nullopt;
  }
  return static_cast<double>(f.rss_open_kb - f.rss_before_kb) / f.opened_ok;
}

std::optional<double> IdleCpuPerMinute(const IdleWatchRecord& w) {
  if (w.idle_cpu_s < 0 || w.idle_seconds <= 0) return std::nullopt;
  return w.idle_cpu_s * 60 / w.idle_seconds;
}

std::optional<std::int64_t> StalledGrowthKb(const StalledStreamRecord& s) {
  if (!s.measured || s.rss_before_kb < 0 || s.rss_max_kb < 0) return std::nullopt;
  return s.rss_max_kb - s.rss_before_kb;
}

std::vector<Target> IdleWatchTargets(const std::optional<IdleWatchRecord>& iw) {
  const std::string not_run = "not measured: idle scenario not run";
  Target rss{"RSS per idle WatchCredentials stream", not_run,
             "<= " + Fmt("%.0f KB", kMaxRssPerIdleStreamKb)};
  Target cpu{"service CPU per idle minute", not_run, "none set: figure only"};
  cpu.figure_only = true;
  Target stalled{"a stalled stream holds at most its queue", not_run,
                 "cut at 1,024 queued changes (WATCH_STREAM_TOO_SLOW)"};
  if (!iw.has_value()) return {rss, cpu, stalled};
  const IdleWatchRecord& w = *iw;
  const std::string streams = std::to_string(w.opened_ok) + " streams";
  if (const auto per = RssPerStreamKb(w)) {
    rss.evaluated = true;
    rss.met = *per <= kMaxRssPerIdleStreamKb && w.failed == 0;
    rss.measured = Fmt("%.1f KB", *per) + " (" + Mb(w.rss_before_kb) + " -> " + Mb(w.rss_open_kb) +
                   " with " + streams +
                   (w.failed > 0 ? "; " + std::to_string(w.failed) + " failed" : "") + ")";
    if (const auto floor = FloorRssPerStreamKb(w.floor)) {
      rss.measured += Fmt("; gRPC alone (floor_server) %.1f KB", *floor);
    }
  } else {
    rss.measured = "not measured: no stream got its first message";
  }
  if (const auto per_min = IdleCpuPerMinute(w)) {
    cpu.evaluated = true;
    cpu.measured = Fmt("%.2f CPU s/min", *per_min) + " (" +
                   Fmt("%.2f%% of one core", 100 * w.idle_cpu_s / w.idle_seconds) + "; " +
                   Count(w.idle_upstream_requests) + " upstream requests in " +
                   Fmt("%.0f s", w.idle_seconds) + ")";
  }
  const StalledStreamRecord& st = w.stalled;
  if (st.measured) {
    const auto growth = StalledGrowthKb(st);
    stalled.evaluated = true;
    stalled.met = st.cut;
    stalled.measured = (st.cut ? "cut after " + Fmt("%.1f s", st.cut_after_s) + " (" +
                                     Count(st.changes_sent) + " changes sent)"
                               : "not cut in " + Fmt("%.0f s", st.seconds)) +
                       "; " + Count(st.upstream_reads) + " changes of its " +
                       std::to_string(st.users) + " users; service RSS " +
                       (growth ? Fmt("%+.1f MB", *growth / 1024.0) : "n/a");
  } else {
    stalled.measured = "not measured: " + (st.note.empty() ? "no sample" : st.note);
  }
  return {rss, cpu, stalled};
}

std::string RenderIdleWatchText(const IdleWatchRecord& w) {
  std::string out;
  auto line = [&](const std::string& s) { out += s + "\n"; };
  line("");
  line("Idle watchers (issue 23): " + std::to_string(w.streams) +
       " WatchCredentials streams, one user each (distinct), over " + std::to_string(w.channels) +
       " channels, to a fresh service");
  line("  service flags: " + w.service_flags);
  line("  first message on " + std::to_string(w.opened_ok) + " streams, failed " +
       std::to_string(w.failed) + " (" + Fmt("%.1f s", w.seconds_to_first) + " after opening)");
  if (!w.first_error.empty()) line("  first error: " + w.first_error);
  const auto per = RssPerStreamKb(w);
  line("  service RSS before / all open / after the idle window: " + Mb(w.rss_before_kb) + " / " +
       Mb(w.rss_open_kb) + " / " + Mb(w.rss_after_idle_kb) + "; peak (VmHWM) " + Mb(w.hwm_kb) +
       "; RSS per stream " + (per ? Fmt("%.1f KB", *per) : "n/a"));
  const IdleFloorRecord& fl = w.floor;
  if (const auto floor = FloorRssPerStreamKb(fl)) {
    line("  floor (gRPC alone: bench/floor_server holds the same streams, one message each): RSS " +
         Mb(fl.rss_before_kb) + " -> " + Mb(fl.rss_open_kb) + " with " +
         std::to_string(fl.opened_ok) + " streams; " + Fmt("%.1f KB", *floor) +
         " per stream; the service adds " + (per ? Fmt("%.1f KB", *per - *floor) : "n/a"));
  } else {
    line("  floor (gRPC alone): not measured: " + (fl.note.empty() ? "no stream opened" : fl.note));
  }
  line("  service threads before / all open: " + Count(w.threads_before) + " / " +
       Count(w.threads_open));
  const auto per_min = IdleCpuPerMinute(w);
  line("  idle window " + Fmt("%.1f s", w.idle_seconds) + ": service CPU " +
       (w.idle_cpu_s < 0 ? "n/a" : Fmt("%.2f s", w.idle_cpu_s)) + " = " +
       (per_min ? Fmt("%.2f CPU s per idle minute", *per_min) + ", " +
                      Fmt("%.2f%% of one core", 100 * w.idle_cpu_s / w.idle_seconds)
                : "n/a") +
       "; upstream requests made by the service in it: " + Count(w.idle_upstream_requests) +
       " (the watch's polls)");
  std::string ended;
  for (const auto& [code, n] : w.ended_early) {
    ended += (ended.empty() ? "" : ", ") + code + " " + std::to_string(n);
  }
  line("  streams that ended before the cancel: " + (ended.empty() ? "none" : ended) +
       "; cancelled all in " + Fmt("%.2f s", w.seconds_to_cancel) + "; service exit " +
       (w.service_exit_status == 0 ? std::string("clean")
                                   : "status " + std::to_string(w.service_exit_status)));
  const StalledStreamRecord& st = w.stalled;
  if (!st.measured) {
    line("Stalled stream: not measured: " + st.note);
  } else {
    line("Stalled stream: one WatchCredentials stream that never reads, " +
         std::to_string(st.users) +
         " users whose status flips at every read, a service of its own");
    line("  service flags: " + st.service_flags);
    line("  over " + Fmt("%.1f s", st.seconds) + ": " + Count(st.upstream_reads) +
         " reads of its users (each a change; the reading streams received " +
         Count(st.reader_messages) + " messages); service RSS before " + Mb(st.rss_before_kb) +
         ", most " + Mb(st.rss_max_kb) + ", at the end " + Mb(st.rss_end_kb));
    line("  the stream: " +
         (st.cut ? "cut by the service " + Fmt("%.1f s", st.cut_after_s) + " after opening, " +
                       Count(st.changes_sent) + " changes sent: " + st.end
                 : st.end));
  }
  return out;
}

std::string RenderIdleWatchJson(const IdleWatchRecord& w) {
  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> j(buf);
  auto i64 = [&](const char* key, std::int64_t v) {
    j.Key(key);
    if (v < 0) {
      j.Null();
    } else {
      j.Int64(v);
    }
  };
  auto dbl = [&](const char* key, std::optional<double> v) {
    j.Key(key);
    if (!v || std::isnan(*v)) {
      j.Null();
    } else {
      j.Double(std::round(*v * 1000) / 1000);
    }
  };
  auto str = [&](const char* key, const std::string& v) {
    j.Key(key);
    j.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  };
  j.StartObject();
  i64("streams", w.streams);
  i64("channels", w.channels);
  i64("streams_with_first_message", w.opened_ok);
  i64("streams_failed", w.failed);
  if (!w.first_error.empty()) str("first_error", w.first_error);
  dbl("seconds_to_first_messages", w.seconds_to_first);
  i64("service_rss_before_kb", w.rss_before_kb);
  i64("service_rss_open_kb", w.rss_open_kb);
  i64("service_rss_after_idle_kb", w.rss_after_idle_kb);
  i64("service_peak_rss_kb", w.hwm_kb);
  dbl("rss_per_stream_kb", RssPerStreamKb(w));
  i64("service_threads_before", w.threads_before);
  i64("service_threads_open", w.threads_open);
  dbl("idle_seconds", w.idle_seconds);
  dbl("idle_service_cpu_seconds", w.idle_cpu_s < 0 ? std::nullopt : std::optional(w.idle_cpu_s));
  dbl("service_cpu_seconds_per_idle_minute", IdleCpuPerMinute(w));
  i64("idle_upstream_requests", w.idle_upstream_requests);
  j.Key("ended_before_cancel");
  j.StartObject();
  for (const auto& [code, n] : w.ended_early) i64(code.c_str(), n);
  j.EndObject();
  dbl("seconds_to_cancel", w.seconds_to_cancel);
  i64("service_exit_status", w.service_exit_status);
  str("service_flags", w.service_flags);
  j.Key("floor");
  j.StartObject();
  j.Key("measured");
  j.Bool(w.floor.measured);
  if (!w.floor.note.empty()) str("note", w.floor.note);
  i64("streams_with_first_message", w.floor.opened_ok);
  i64("rss_before_kb", w.floor.rss_before_kb);
  i64("rss_open_kb", w.floor.rss_open_kb);
  dbl("rss_per_stream_kb", FloorRssPerStreamKb(w.floor));
  j.EndObject();
  const StalledStreamRecord& st = w.stalled;
  j.Key("stalled_stream");
  j.StartObject();
  j.Key("measured");
  j.Bool(st.measured);
  if (!st.note.empty()) str("note", st.note);
  i64("users", st.users);
  str("service_flags", st.service_flags);
  dbl("seconds", st.seconds);
  i64("upstream_reads", st.upstream_reads);
  i64("reader_messages", st.reader_messages);
  i64("service_rss_before_kb", st.rss_before_kb);
  i64("service_rss_max_kb", st.rss_max_kb);
  i64("service_rss_end_kb", st.rss_end_kb);
  j.Key("cut");
  j.Bool(st.cut);
  dbl("cut_after_seconds", st.cut_after_s < 0 ? std::nullopt : std::optional(st.cut_after_s));
  i64("changes_sent", st.changes_sent);
  str("end", st.end);
  j.EndObject();
  j.EndObject();
  return buf.GetString();
}

}  // namespace bench
