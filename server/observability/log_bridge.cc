#include "server/observability/log_bridge.h"

#include <google/protobuf/stubs/logging.h>
#include <grpc/support/log.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/base/internal/raw_logging.h"
#include "absl/base/log_severity.h"
#include "server/observability/log.h"

namespace leafsvc {
namespace {

void FromGrpc(gpr_log_func_args* args) {
  LogLevel level = LogLevel::kDebug;
  if (args->severity == GPR_LOG_SEVERITY_INFO) level = LogLevel::kInfo;
  if (args->severity == GPR_LOG_SEVERITY_ERROR) level = LogLevel::kError;
  Log(level, args->message != nullptr ? args->message : "",
      {{"source", "grpc"},
       {"file", args->file != nullptr ? args->file : ""},
       {"line", args->line}});
}

void FromProtobuf(google::protobuf::LogLevel severity, const char* file, int line,
                  const std::string& message) {
  LogLevel level = LogLevel::kError;  // ERROR and FATAL (protobuf aborts after FATAL)
  if (severity == google::protobuf::LOGLEVEL_INFO) level = LogLevel::kInfo;
  if (severity == google::protobuf::LOGLEVEL_WARNING) level = LogLevel::kWarning;
  Log(level, message,
      {{"source", "protobuf"}, {"file", file != nullptr ? file : ""}, {"line", line}});
}

LogLevel FromAbslSeverity(absl::LogSeverity severity) {
  switch (severity) {
    case absl::LogSeverity::kInfo:
      return LogLevel::kInfo;
    case absl::LogSeverity::kWarning:
      return LogLevel::kWarning;
    default:
      return LogLevel::kError;
  }
}

void FromAbslInternal(absl::LogSeverity severity, const char* file, int line,
                      const std::string& message) {
  Log(FromAbslSeverity(severity), message,
      {{"source", "absl"}, {"file", file != nullptr ? file : ""}, {"line", line}});
  if (severity == absl::LogSeverity::kFatal) std::abort();
}

// Async-signal-safe appending into a fixed buffer (no allocation, no locks).
struct RawLine {
  char buf[512];
  size_t len = 0;
  void Append(const char* s) {
    for (; *s != '\0' && len < sizeof buf - 2; ++s) buf[len++] = *s;
  }
  // File names: printable ASCII only, cut early enough that the rest of the
  // line (`","line":`, a number, `}`, newline: under 40 bytes) still fits.
  void AppendJsonText(const char* s) {
    for (; *s != '\0' && len < sizeof buf - 40; ++s) {
      const unsigned char c = static_cast<unsigned char>(*s);
      if (c == '"' || c == '\\') buf[len++] = '\\';
      buf[len++] = (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
    }
  }
  void AppendNumber(long long v, int min_digits = 1) {
    char digits[24];
    int n = 0;
    const bool negative = v < 0;
    unsigned long long u =
        negative ? 0ULL - static_cast<unsigned long long>(v) : static_cast<unsigned long long>(v);
    do {
      digits[n++] = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u != 0 || n < min_digits);
    if (negative) digits[n++] = '-';
    while (n > 0 && len < sizeof buf - 2) buf[len++] = digits[--n];
  }
};

// "2026-11-28T21:40:01.123456Z" from CLOCK_REALTIME, without the time zone
// library (civil-from-days, proleptic Gregorian calendar).
void AppendRawTime(RawLine& line) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  const long long secs = ts.tv_sec;
  long long days = secs / 86400;
  long long rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  days += 719468;
  const long long era = (days >= 0 ? days : days - 146096) / 146097;
  const long long doe = days - era * 146097;
  const long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const long long mp = (5 * doy + 2) / 153;
  const long long day = doy - (153 * mp + 2) / 5 + 1;
  const long long month = mp < 10 ? mp + 3 : mp - 9;
  const long long year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  line.AppendNumber(year, 4);
  line.Append("-");
  line.AppendNumber(month, 2);
  line.Append("-");
  line.AppendNumber(day, 2);
  line.Append("T");
  line.AppendNumber(rem / 3600, 2);
  line.Append(":");
  line.AppendNumber(rem / 60 % 60, 2);
  line.Append(":");
  line.AppendNumber(rem % 60, 2);
  line.Append(".");
  line.AppendNumber(ts.tv_nsec / 1000, 6);
  line.Append("Z");
}

const char* LevelText(absl::LogSeverity severity) {
  switch (severity) {
    case absl::LogSeverity::kInfo:
      return "info";
    case absl::LogSeverity::kWarning:
      return "warning";
    default:
      return "error";
  }
}

// Writes the JSON line itself and returns false, so abseil writes nothing.
bool FromAbslRaw(absl::LogSeverity severity, const char* file, int line_number, char**, int*) {
  if (!LogEnabled(FromAbslSeverity(severity))) return false;
  RawLine line;
  line.Append("{\"time\":\"");
  AppendRawTime(line);
  line.Append("\",\"level\":\"");
  line.Append(LevelText(severity));
  line.Append(
      "\",\"msg\":\"abseil raw log message (its text is not available to the hook)\","
      "\"source\":\"absl\",\"file\":\"");
  line.AppendJsonText(file != nullptr ? file : "");
  line.Append("\",\"line\":");
  line.AppendNumber(line_number);
  line.Append("}");
  line.buf[line.len++] = '\n';
  (void)!write(STDERR_FILENO, line.buf, line.len);
  return false;
}

}  // namespace

void InstallLogBridges() {
  gpr_set_log_function(FromGrpc);
  google::protobuf::SetLogHandler(FromProtobuf);
  absl::raw_logging_internal::RegisterInternalLogFunction(FromAbslInternal);
  absl::raw_logging_internal::RegisterLogFilterAndPrefixHook(FromAbslRaw);
}

}  // namespace leafsvc
