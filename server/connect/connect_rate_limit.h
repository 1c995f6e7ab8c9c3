// Rate limits of the grower's pages: a token bucket per source address and
// one per connect link, so neither a flood from one address nor many
// addresses hammering one link (guessing at its callback, replaying its
// form) costs the flow more than a bounded rate. Memory is bounded: each
// table keeps at most max_tracked_keys buckets, dropping first the least
// recently used (a bucket idle long enough to be full again is the same as
// no bucket, so dropping it loses nothing). Thread-safe.
#ifndef SERVER_CONNECT_CONNECT_RATE_LIMIT_H_
#define SERVER_CONNECT_CONNECT_RATE_LIMIT_H_

#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace leafsvc::connect {

// Why a request was refused (the on_refused hook's values, metric labels).
inline constexpr char kRateLimitedSource[] = "rate_limited_source";
inline constexpr char kRateLimitedLink[] = "rate_limited_link";

struct ConnectRateLimitOptions {
  // Sustained requests per minute; the bucket holds as many (the burst).
  int per_source_per_minute = 60;
  int per_link_per_minute = 30;
  // Buckets kept per table (sources, links).
  size_t max_tracked_keys = 10000;
  std::function<absl::Time()> clock;  // absl::Now when unset
  // Told every refusal (kRateLimitedSource or kRateLimitedLink).
  std::function<void(absl::string_view reason)> on_refused;
};

struct RateDecision {
  bool allowed = true;
  absl::Duration retry_after;  // when refused: until a token is back (>= 1 s)
  absl::string_view reason;    // when refused
};

class ConnectRateLimiter {
 public:
  explicit ConnectRateLimiter(ConnectRateLimitOptions options);

  // One request from `source_ip` about `link_id` (empty: a request with no
  // link yet, the callback: limited by source only). Takes a token from each
  // bucket only when both have one.
  RateDecision Admit(absl::string_view source_ip, absl::string_view link_id);

  // Buckets held now (for tests of the memory bound).
  size_t tracked_sources() const;
  size_t tracked_links() const;

  // The key of a source address: an IPv6 address by its /64 (one host
  // usually has a whole /64 to pick addresses from), anything else as is.
  static std::string SourceKey(absl::string_view ip);

 private:
  // Buckets of one kind, with least-recently-used order for eviction.
  class Table {
   public:
    Table(double per_minute, size_t max_keys) : per_minute_(per_minute), max_keys_(max_keys) {}
    // Tokens in `key`'s bucket at `now` (refilled), creating it full.
    double Peek(const std::string& key, absl::Time now);
    void Take(const std::string& key);
    absl::Duration UntilNextToken(const std::string& key) const;
    size_t size() const { return buckets_.size(); }

   private:
    struct Bucket {
      double tokens = 0;
      absl::Time last;
      std::list<std::string>::iterator lru;
    };
    // Drops idle buckets, then (for a new `key`) the least recently used
    // until there is room.
    void Evict(const std::string& key, absl::Time now);

    const double per_minute_;
    const size_t max_keys_;
    absl::flat_hash_map<std::string, Bucket> buckets_;
    std::list<std::string> lru_;  // front: most recently used
  };

  const ConnectRateLimitOptions options_;
  mutable std::mutex mu_;
  Table sources_;
  Table links_;
};

}  // namespace leafsvc::connect

#endif  // SERVER_CONNECT_CONNECT_RATE_LIMIT_H_
