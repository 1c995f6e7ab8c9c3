#include "server/observability/log_throttle.h"

#include <utility>

namespace leafsvc {

LogThrottle::LogThrottle(LogLevel level, std::string message, absl::Duration interval,
                         std::function<absl::Time()> now)
    : level_(level), message_(std::move(message)), interval_(interval), now_(std::move(now)) {}

bool LogThrottle::Note(absl::string_view reason, absl::string_view context_key,
                       absl::string_view context_value) {
  int64_t count = 0;
  int64_t total = 0;
  {
    absl::MutexLock lock(&mu_);
    PerReason& r = reasons_[reason];
    ++r.since_line;
    ++r.total;
    const absl::Time now = now_();
    if (now - r.last_line < interval_) return false;
    r.last_line = now;
    count = r.since_line;
    total = r.total;
    r.since_line = 0;
  }
  // Logged outside the lock: the sink may block briefly.
  if (context_key.empty()) {
    Log(level_, message_, {{"reason", reason}, {"count", count}, {"total", total}});
  } else {
    Log(level_, message_,
        {{"reason", reason}, {"count", count}, {"total", total}, {context_key, context_value}});
  }
  return true;
}

int64_t LogThrottle::total(absl::string_view reason) const {
  absl::MutexLock lock(&mu_);
  auto it = reasons_.find(reason);
  return it == reasons_.end() ? 0 : it->second.total;
}

}  // namespace leafsvc
