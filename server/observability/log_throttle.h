// Logs repeated events (refused requests, refused connections) at most once
// per interval per reason, with how many happened since the last line, so a
// flood of hostile requests costs a few log lines, not one each.
#ifndef SERVER_OBSERVABILITY_LOG_THROTTLE_H_
#define SERVER_OBSERVABILITY_LOG_THROTTLE_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/observability/log.h"

namespace leafsvc {

class LogThrottle {
 public:
  // `message` is the log line's text; each line carries the reason, the
  // count since the previous line of that reason and the running total.
  LogThrottle(LogLevel level, std::string message, absl::Duration interval = absl::Seconds(10),
              std::function<absl::Time()> now = absl::Now);

  // Counts one event of `reason`; logs it when the last line of this reason
  // is older than the interval. Returns true when it logged.
  bool Note(absl::string_view reason, absl::string_view context_key = "",
            absl::string_view context_value = "");

  int64_t total(absl::string_view reason) const;

 private:
  struct PerReason {
    absl::Time last_line = absl::InfinitePast();
    int64_t since_line = 0;
    int64_t total = 0;
  };

  const LogLevel level_;
  const std::string message_;
  const absl::Duration interval_;
  const std::function<absl::Time()> now_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, PerReason> reasons_ ABSL_GUARDED_BY(mu_);
};

}  // namespace leafsvc

#endif  // SERVER_OBSERVABILITY_LOG_THROTTLE_H_
