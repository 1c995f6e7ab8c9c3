// Structured logging: one JSON object per line on stderr, e.g.
//   {"time":"2026-11-28T21:40:01.123456Z","level":"info","msg":"rpc",
//    "method":"GetCredentials","code":"OK","latency_ms":1.2}
// Fields are typed key/value pairs. Secret values cannot be logged: Secret
// has no conversion to LogValue. Every string (the message and each field)
// is redacted of the process's registered secrets and JWTs
// (server/secrets/redact.h) as a whole, then shortened to kMaxLogFieldBytes.
#ifndef SERVER_OBSERVABILITY_LOG_H_
#define SERVER_OBSERVABILITY_LOG_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace leafsvc {

inline constexpr size_t kMaxLogFieldBytes = 2048;

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Parses "debug", "info", "warning" or "error".
bool ParseLogLevel(absl::string_view text, LogLevel* level);
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);

// Where lines go. For tests that inspect log output: such a sink is called
// synchronously, under a lock. The default is stderr, written by a thread
// of its own (server/observability/async_log_sink.h): Log never waits for stderr;
// lines that do not fit a full buffer are dropped and counted.
void SetLogSink(std::function<void(absl::string_view line)> sink);

// Waits until the lines logged so far reached stderr, at most `timeout`
// (true when they did). Also run at exit.
bool FlushLog(absl::Duration timeout = absl::Seconds(1));

// Lines the stderr sink dropped because stderr was not keeping up.
std::uint64_t LogLinesDropped();

class Redactor;  // server/secrets/redact.h

class LogValue {
 public:
  LogValue(absl::string_view s) : kind_(kString), s_(s) {}            // NOLINT
  LogValue(const std::string& s) : kind_(kString), s_(s) {}           // NOLINT
  LogValue(const char* s) : kind_(kString), s_(s) {}                  // NOLINT
  LogValue(int64_t i) : kind_(kInt), i_(i) {}                         // NOLINT
  LogValue(int i) : kind_(kInt), i_(i) {}                             // NOLINT
  LogValue(uint64_t i) : kind_(kInt), i_(static_cast<int64_t>(i)) {}  // NOLINT
  LogValue(double d) : kind_(kDouble), d_(d) {}                       // NOLINT
  LogValue(bool b) : kind_(kBool), b_(b) {}                           // NOLINT

  // A string the caller has already passed through a Redactor (or that
  // cannot hold a secret: a constant, a validated id): shortened only. For
  // the per-call log line, where redacting every field again cost a tenth of
  // the service's instructions per request.
  static LogValue Redacted(absl::string_view s) {
    LogValue v(s);
    v.kind_ = kRedactedString;
    return v;
  }

  // Strings are redacted (and shortened) by `redactor` first.
  void AppendJson(std::string* out, const Redactor& redactor) const;

 private:
  enum Kind { kString, kRedactedString, kInt, kDouble, kBool } kind_;
  absl::string_view s_;
  int64_t i_ = 0;
  double d_ = 0;
  bool b_ = false;
};

using LogFields = std::initializer_list<std::pair<absl::string_view, LogValue>>;

void Log(LogLevel level, absl::string_view message, LogFields fields = {});

}  // namespace leafsvc

#endif  // SERVER_OBSERVABILITY_LOG_H_
