#include "server/connect/connect_rate_limit.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace leafsvc::connect {

ConnectRateLimiter::ConnectRateLimiter(ConnectRateLimitOptions options)
    : options_(std::move(options)),
      sources_(std::max(1, options_.per_source_per_minute),
               std::max<size_t>(1, options_.max_tracked_keys)),
      links_(std::max(1, options_.per_link_per_minute),
             std::max<size_t>(1, options_.max_tracked_keys)) {}

std::string ConnectRateLimiter::SourceKey(absl::string_view ip) {
  if (ip.find(':') == absl::string_view::npos) return std::string(ip);
  in6_addr a{};
  if (inet_pton(AF_INET6, std::string(ip).c_str(), &a) != 1) return std::string(ip);
  const unsigned char* b = a.s6_addr;
  return absl::StrFormat("%02x%02x:%02x%02x:%02x%02x:%02x%02x::/64", b[0], b[1], b[2], b[3], b[4],
                         b[5], b[6], b[7]);
}

RateDecision ConnectRateLimiter::Admit(absl::string_view source_ip, absl::string_view link_id) {
  const absl::Time now = options_.clock ? options_.clock() : absl::Now();
  const std::string source = SourceKey(source_ip);
  const std::string link(link_id);
  RateDecision decision;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (sources_.Peek(source, now) < 1) {
      decision = {false, sources_.UntilNextToken(source), kRateLimitedSource};
    } else if (!link.empty() && links_.Peek(link, now) < 1) {
      decision = {false, links_.UntilNextToken(link), kRateLimitedLink};
    } else {
      sources_.Take(source);
      if (!link.empty()) links_.Take(link);
    }
  }
  if (!decision.allowed && options_.on_refused) options_.on_refused(decision.reason);
  return decision;
}

size_t ConnectRateLimiter::tracked_sources() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sources_.size();
}

size_t ConnectRateLimiter::tracked_links() const {
  std::lock_guard<std::mutex> lock(mu_);
  return links_.size();
}

double ConnectRateLimiter::Table::Peek(const std::string& key, absl::Time now) {
  Evict(key, now);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    lru_.push_front(key);
    it = buckets_.emplace(key, Bucket{per_minute_, now, lru_.begin()}).first;
    return it->second.tokens;
  }
  Bucket& b = it->second;
  if (now > b.last) {
    b.tokens = std::min(per_minute_, b.tokens + absl::ToDoubleMinutes(now - b.last) * per_minute_);
    b.last = now;
  }
  lru_.splice(lru_.begin(), lru_, b.lru);
  return b.tokens;
}

void ConnectRateLimiter::Table::Take(const std::string& key) {
  auto it = buckets_.find(key);
  if (it != buckets_.end()) it->second.tokens -= 1;
}

absl::Duration ConnectRateLimiter::Table::UntilNextToken(const std::string& key) const {
  auto it = buckets_.find(key);
  const double missing = it == buckets_.end() ? 0 : std::max(0.0, 1 - it->second.tokens);
  const double seconds = std::ceil(missing * 60 / per_minute_);
  return absl::Seconds(std::max(1.0, seconds));
}

void ConnectRateLimiter::Table::Evict(const std::string& key, absl::Time now) {
  // Idle buckets first, from the least recently used end: one refilled to
  // full is the same as no bucket, so dropping it loses nothing.
  while (!lru_.empty()) {
    const Bucket& b = buckets_.at(lru_.back());
    if (b.tokens + absl::ToDoubleMinutes(now - b.last) * per_minute_ < per_minute_) break;
    buckets_.erase(lru_.back());
    lru_.pop_back();
  }
  // Still full: a flood of distinct active keys; the oldest gives way, so
  // memory stays bounded either way.
  while (!lru_.empty() && buckets_.size() >= max_keys_ && !buckets_.contains(key)) {
    buckets_.erase(lru_.back());
    lru_.pop_back();
  }
}

}  // namespace leafsvc::connect
