// The pages' token buckets: per source and per link, refill, Retry-After,
// the callback limited by source only, the memory bound under a flood of
// distinct keys, IPv6 sources by /64, and thread safety.
#include "server/connect/connect_rate_limit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

namespace leafsvc::connect {
namespace {

class RateLimitTest : public ::testing::Test {
 protected:
  ConnectRateLimitOptions Options(int per_source, int per_link, size_t max_keys = 1000) {
    ConnectRateLimitOptions o;
    o.per_source_per_minute = per_source;
    o.per_link_per_minute = per_link;
    o.max_tracked_keys = max_keys;
    o.clock = [this] { return now_; };
    o.on_refused = [this](absl::string_view reason) { ++refused_[std::string(reason)]; };
    return o;
  }
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  std::map<std::string, int> refused_;
};

TEST_F(RateLimitTest, SourceBucketEmptiesThenRefillsAtItsRate) {
  ConnectRateLimiter limiter(Options(60, 1000));
  for (int i = 0; i < 60; ++i) EXPECT_TRUE(limiter.Admit("10.0.0.1", "").allowed) << i;
  RateDecision d = limiter.Admit("10.0.0.1", "");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, kRateLimitedSource);
  EXPECT_EQ(d.retry_after, absl::Seconds(1));
  EXPECT_EQ(refused_[kRateLimitedSource], 1);
  EXPECT_TRUE(limiter.Admit("10.0.0.2", "").allowed) << "another source has its own bucket";
  now_ += absl::Seconds(1);
  EXPECT_TRUE(limiter.Admit("10.0.0.1", "").allowed);
  EXPECT_FALSE(limiter.Admit("10.0.0.1", "").allowed);
}

TEST_F(RateLimitTest, LinkBucketIsSharedByEverySource) {
  ConnectRateLimiter limiter(Options(1000, 30));
  for (int i = 0; i < 30; ++i) {
    EXPECT_TRUE(limiter.Admit(absl::StrCat("10.0.1.", i), "link-a").allowed) << i;
  }
  RateDecision d = limiter.Admit("10.0.2.1", "link-a");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, kRateLimitedLink);
  EXPECT_EQ(d.retry_after, absl::Seconds(2));  // 30 a minute: one every 2 s
  EXPECT_TRUE(limiter.Admit("10.0.2.1", "link-b").allowed);
  // A request without a link (the callback) is limited by source only.
  EXPECT_TRUE(limiter.Admit("10.0.2.1", "").allowed);
}

TEST_F(RateLimitTest, ARefusalTakesNoToken) {
  ConnectRateLimiter limiter(Options(2, 1));
  EXPECT_TRUE(limiter.Admit("10.0.0.1", "a").allowed);
  // Refused by the link: the source keeps its token for another link.
  EXPECT_FALSE(limiter.Admit("10.0.0.1", "a").allowed);
  EXPECT_TRUE(limiter.Admit("10.0.0.1", "b").allowed);
  EXPECT_FALSE(limiter.Admit("10.0.0.1", "c").allowed);
  EXPECT_EQ(refused_[kRateLimitedLink], 1);
  EXPECT_EQ(refused_[kRateLimitedSource], 1);
}

TEST_F(RateLimitTest, AFloodOfDistinctKeysStaysWithinTheBound) {
  ConnectRateLimiter limiter(Options(5, 5, /*max_keys=*/100));
  for (int i = 0; i < 10000; ++i) {
    limiter.Admit(absl::StrCat("10.", i / 65536, ".", (i / 256) % 256, ".", i % 256),
                  absl::StrCat("link-", i));
  }
  EXPECT_LE(limiter.tracked_sources(), 100u);
  EXPECT_LE(limiter.tracked_links(), 100u);
  // The most recent keys are still limited.
  for (int i = 0; i < 4; ++i) limiter.Admit("10.0.39.15", "x");
  EXPECT_FALSE(limiter.Admit("10.0.39.15", "y").allowed);
}

TEST_F(RateLimitTest, IdleBucketsAreDropped) {
  ConnectRateLimiter limiter(Options(60, 60));
  for (int i = 0; i < 50; ++i) limiter.Admit(absl::StrCat("10.0.0.", i), absl::StrCat("l", i));
  EXPECT_EQ(limiter.tracked_sources(), 50u);
  now_ += absl::Minutes(2);  // every bucket full again
  limiter.Admit("10.9.9.9", "");
  EXPECT_EQ(limiter.tracked_sources(), 1u);
}

TEST_F(RateLimitTest, Ipv6SourcesCountByTheirSlash64) {
  EXPECT_EQ(ConnectRateLimiter::SourceKey("2001:db8:1:2:aaaa::1"),
            ConnectRateLimiter::SourceKey("2001:db8:1:2:bbbb::2"));
  EXPECT_NE(ConnectRateLimiter::SourceKey("2001:db8:1:2::1"),
            ConnectRateLimiter::SourceKey("2001:db8:1:3::1"));
  EXPECT_EQ(ConnectRateLimiter::SourceKey("10.1.2.3"), "10.1.2.3");
  ConnectRateLimiter limiter(Options(3, 100));
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.Admit(absl::StrCat("2001:db8::", i + 1), "").allowed);
  }
  EXPECT_FALSE(limiter.Admit("2001:db8::ffff", "").allowed);
}

TEST(RateLimitThreadsTest, ConcurrentRequestsNeverGetMoreThanTheBucket) {
  ConnectRateLimitOptions o;
  o.per_source_per_minute = 100;
  o.per_link_per_minute = 1000;
  const absl::Time fixed = absl::Now();
  o.clock = [fixed] { return fixed; };
  ConnectRateLimiter limiter(o);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (limiter.Admit("10.0.0.1", "link").allowed) ++allowed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 100);
}

}  // namespace
}  // namespace leafsvc::connect
