#include "emulator/rate_limit.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "emulator/json.h"
#include "emulator/problem.h"

namespace leafemu {

absl::Time RateLimiter::MonotonicNow() {
  return absl::FromUnixNanos(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count());
}

RateLimiter::RateLimiter(RateLimitConfig config, Clock clock)
    : initial_(config), clock_(std::move(clock)), config_(std::move(config)) {}

RateLimiter::Decision RateLimiter::Admit(const std::string& owner) {
  const absl::Time now = clock_();
  std::lock_guard<std::mutex> l(mu_);
  std::deque<absl::Time>& window = accepted_[owner];
  while (!window.empty() && window.front() <= now - kRateLimitWindow) window.pop_front();
  if (config_.per_minute > 0 && window.size() >= static_cast<size_t>(config_.per_minute)) {
    ++rate_limited_count_;
    return {false, config_};
  }
  window.push_back(now);
  max_in_any_minute_ = std::max(max_in_any_minute_, static_cast<int>(window.size()));
  return {true, config_};
}

void RateLimiter::Configure(RateLimitConfig config) {
  std::lock_guard<std::mutex> l(mu_);
  config_ = std::move(config);
}

RateLimitConfig RateLimiter::config() const {
  std::lock_guard<std::mutex> l(mu_);
  return config_;
}

RateLimitStats RateLimiter::Stats() const {
  const absl::Time now = clock_();
  std::lock_guard<std::mutex> l(mu_);
  RateLimitStats s;
  s.rate_limited_count = rate_limited_count_;
  s.max_requests_in_any_minute = max_in_any_minute_;
  for (const auto& [owner, window] : accepted_) {
    // Oldest first: those after the window's start are a suffix.
    auto first_in = std::upper_bound(window.begin(), window.end(), now - kRateLimitWindow);
    s.requests_in_last_minute =
        std::max(s.requests_in_last_minute, static_cast<int>(window.end() - first_in));
  }
  return s;
}

void RateLimiter::Reset() {
  std::lock_guard<std::mutex> l(mu_);
  config_ = initial_;
  accepted_.clear();
  rate_limited_count_ = 0;
  max_in_any_minute_ = 0;
}

std::string RateLimitedBody(const RateLimitConfig& config) {
  return absl::StrCat(
      "{\"error\":\"Request limit exceeded\",\"message\":",
      JsonQuote(absl::StrCat("You have exceeded the limit of ", config.per_minute,
                             " requests per minute for this API owner. Please try again later.")),
      ",\"status_code\":429}");
}

void SendRateLimited(httplib::Response& res, const RateLimitConfig& config) {
  SendJson(res, 429, RateLimitedBody(config));
  if (config.retry_after_seconds) {
    res.set_header("Retry-After", absl::StrCat(*config.retry_after_seconds));
  }
}

}  // namespace leafemu
