#include "server/observability/log.h"

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/observability/async_log_sink.h"
#include "server/secrets/redact.h"

namespace leafsvc {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};

absl::Mutex& SinkMutex() {
  static auto* mu = new absl::Mutex;
  return *mu;
}

std::function<void(absl::string_view)>& Sink() {
  static auto* sink = new std::function<void(absl::string_view)>;
  return *sink;
}

std::string FormatLine(LogLevel level, absl::string_view message, LogFields fields);

// The default destination: stderr through an asynchronous sink, so that no
// request path or transport thread ever waits for stderr. Never destroyed
// (its thread may be stuck on a stalled stderr); flushed at exit.
AsyncLogSink& StderrSink() {
  static AsyncLogSink* sink = [] {
    AsyncLogSink::Options options;
    options.fd = 2;
    options.dropped_notice = [](std::uint64_t dropped) {
      return FormatLine(LogLevel::kWarning,
                        "log lines dropped: stderr was not keeping up (the log buffer was full)",
                        {{"dropped_lines", dropped}});
    };
    auto* s = new AsyncLogSink(std::move(options));
    std::atexit([] { FlushLog(); });
    return s;
  }();
  return *sink;
}

// "2026-11-28T22:18:27.322404Z", quoted. absl::FormatTime parses its format
// and converts through the time zone library on every call; only the
// microseconds change within a second, so the rest is formatted once a second.
void AppendTimestamp(absl::Time now, std::string* out) {
  thread_local std::int64_t cached_second = std::numeric_limits<std::int64_t>::min();
  thread_local std::string cached;  // "2026-11-28T22:18:27"
  std::int64_t micros = absl::ToUnixMicros(now);
  std::int64_t second = micros / 1000000;
  micros %= 1000000;
  if (micros < 0) {
    micros += 1000000;
    --second;
  }
  if (second != cached_second) {
    cached =
        absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::FromUnixSeconds(second), absl::UTCTimeZone());
    cached_second = second;
  }
  char fraction[16];
  std::snprintf(fraction, sizeof fraction, ".%06dZ\"", static_cast<int>(micros));
  out->push_back('"');
  out->append(cached);
  out->append(fraction);
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

bool NeedsEscape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

void AppendJsonString(absl::string_view s, std::string* out) {
  out->push_back('"');
  std::size_t run = 0;  // start of the bytes that need no escaping
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (!NeedsEscape(c)) continue;
    // Whole runs of plain bytes are appended at once.
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        absl::StrAppendFormat(out, "\\u%04x", c);
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

}  // namespace

bool ParseLogLevel(absl::string_view text, LogLevel* level) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning, LogLevel::kError}) {
    if (text == LevelName(l)) {
      *level = l;
      return true;
    }
  }
  return false;
}

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void SetLogSink(std::function<void(absl::string_view)> sink) {
  absl::MutexLock lock(&SinkMutex());
  Sink() = std::move(sink);
}

void LogValue::AppendJson(std::string* out, const Redactor& redactor) const {
  switch (kind_) {
    case kString:
      AppendJsonString(redactor.RedactAndShorten(s_, kMaxLogFieldBytes), out);
      break;
    case kRedactedString:
      if (s_.size() <= kMaxLogFieldBytes) {
        AppendJsonString(s_, out);
      } else {
        AppendJsonString(Shorten(s_, kMaxLogFieldBytes), out);
      }
      break;
    case kInt:
      absl::StrAppend(out, i_);
      break;
    case kDouble:
      // JSON has no NaN or infinity ("%.3f" would write "nan", "inf").
      if (std::isfinite(d_)) {
        absl::StrAppendFormat(out, "%.3f", d_);
      } else {
        out->append("null");
      }
      break;
    case kBool:
      out->append(b_ ? "true" : "false");
      break;
  }
}

namespace {

std::string FormatLine(LogLevel level, absl::string_view message, LogFields fields) {
  std::string line;
  line.reserve(384);  // an rpc line, without growing
  line.append("{\"time\":");
  AppendTimestamp(absl::Now(), &line);
  line.append(",\"level\":");
  AppendJsonString(LevelName(level), &line);
  const Redactor redactor;
  line.append(",\"msg\":");
  AppendJsonString(redactor.RedactAndShorten(message, kMaxLogFieldBytes), &line);
  for (const auto& [key, value] : fields) {
    line.push_back(',');
    AppendJsonString(key, &line);
    line.push_back(':');
    value.AppendJson(&line, redactor);
  }
  line.append("}\n");
  return line;
}

}  // namespace

void Log(LogLevel level, absl::string_view message, LogFields fields) {
  if (!LogEnabled(level)) return;
  const std::string line = FormatLine(level, message, fields);
  {
    absl::MutexLock lock(&SinkMutex());
    // A sink set by a test is called synchronously, as before.
    if (Sink()) {
      Sink()(line);
      return;
    }
  }
  StderrSink().Write(line);
}

bool FlushLog(absl::Duration timeout) { return StderrSink().Flush(timeout); }

std::uint64_t LogLinesDropped() { return StderrSink().dropped(); }

}  // namespace leafsvc
