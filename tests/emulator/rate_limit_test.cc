// Unit tests of Leaf's request limit (rate_limit.h) on a fake clock: the
// sliding window's exact edges, refusals that consume nothing, owners apart,
// the counters, runtime changes, reset, and the gateway's 429.
#include "emulator/rate_limit.h"

#include <httplib.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace leafemu {
namespace {

// A clock that moves only when told to.
class FakeClock {
 public:
  absl::Time Now() const { return now_; }
  void Advance(absl::Duration d) { now_ += d; }
  void AdvanceTo(absl::Duration since_start) { now_ = start_ + since_start; }
  RateLimiter::Clock AsClock() {
    return [this] { return now_; };
  }

 private:
  const absl::Time start_ = absl::FromUnixSeconds(3600000);
  absl::Time now_ = start_;
};

RateLimitConfig Limit(int per_minute, std::optional<int> retry_after = std::nullopt) {
  RateLimitConfig c;
  c.per_minute = per_minute;
  c.retry_after_seconds = retry_after;
  return c;
}

// How many of `n` requests `owner` gets accepted now.
int AcceptedOf(RateLimiter& limiter, const std::string& owner, int n) {
  int accepted = 0;
  for (int i = 0; i < n; ++i) accepted += limiter.Admit(owner).accepted ? 1 : 0;
  return accepted;
}

// The most accepted times in any half-open 60 s interval, by brute force.
int MaxInAnyWindow(std::vector<absl::Time> times) {
  std::sort(times.begin(), times.end());
  int best = 0;
  for (size_t i = 0; i < times.size(); ++i) {
    size_t j = i;
    while (j < times.size() && times[j] < times[i] + kRateLimitWindow) ++j;
    best = std::max(best, static_cast<int>(j - i));
  }
  return best;
}

TEST(RateLimiterTest, AcceptsNThenRefusesAndRefusalsConsumeNothing) {
  FakeClock clock;
  RateLimiter limiter(Limit(3), clock.AsClock());
  EXPECT_EQ(AcceptedOf(limiter, "a", 3), 3);
  RateLimiter::Decision fourth = limiter.Admit("a");
  EXPECT_FALSE(fourth.accepted);
  EXPECT_EQ(fourth.config.per_minute, 3);
  // Refused requests all through the minute must not push the window on.
  for (int s = 1; s < 60; ++s) {
    clock.AdvanceTo(absl::Seconds(s));
    EXPECT_FALSE(limiter.Admit("a").accepted) << s;
  }
  clock.AdvanceTo(absl::Seconds(60) - absl::Nanoseconds(1));
  EXPECT_FALSE(limiter.Admit("a").accepted);
  // Exactly 60 s after the three: they have left the window, all three at once.
  clock.AdvanceTo(absl::Seconds(60));
  EXPECT_EQ(AcceptedOf(limiter, "a", 4), 3);
  EXPECT_EQ(limiter.Stats().rate_limited_count, 1 + 59 + 1 + 1);
}

TEST(RateLimiterTest, TheWindowSlidesInsteadOfResettingEachMinute) {
  FakeClock clock;
  RateLimiter limiter(Limit(2), clock.AsClock());
  clock.AdvanceTo(absl::Seconds(59));
  EXPECT_TRUE(limiter.Admit("a").accepted);
  clock.AdvanceTo(absl::Milliseconds(59500));
  EXPECT_TRUE(limiter.Admit("a").accepted);
  // A fixed window would start afresh at 60 s and let two more through.
  clock.AdvanceTo(absl::Milliseconds(60500));
  EXPECT_FALSE(limiter.Admit("a").accepted);
  clock.AdvanceTo(absl::Milliseconds(118900));
  EXPECT_FALSE(limiter.Admit("a").accepted);
  // The first one leaves the window at 119 s, the second at 119.5 s.
  clock.AdvanceTo(absl::Seconds(119));
  EXPECT_TRUE(limiter.Admit("a").accepted);
  EXPECT_FALSE(limiter.Admit("a").accepted);
  clock.AdvanceTo(absl::Milliseconds(119500));
  EXPECT_TRUE(limiter.Admit("a").accepted);
  EXPECT_FALSE(limiter.Admit("a").accepted);
}

TEST(RateLimiterTest, NeverMoreThanNInAny60SecondsUnderASteadyFlood) {
  FakeClock clock;
  RateLimiter limiter(Limit(10), clock.AsClock());
  std::vector<absl::Time> accepted;
  // Irregular steps (1 to 7 s, sometimes bursts at one instant) for 10 minutes.
  for (int i = 0; i < 2000; ++i) {
    if (i % 5 != 0) clock.Advance(absl::Milliseconds(100 * (1 + (i * 7919) % 7)));
    if (limiter.Admit("a").accepted) accepted.push_back(clock.Now());
  }
  EXPECT_EQ(MaxInAnyWindow(accepted), 10);
  // About 10 a minute get through over the run, not fewer: refusals cost nothing.
  const absl::Duration run = clock.Now() - accepted.front();
  EXPECT_GE(static_cast<double>(accepted.size()), 10 * (run / absl::Minutes(1)) - 10);
  EXPECT_EQ(limiter.Stats().max_requests_in_any_minute, 10);
  EXPECT_EQ(limiter.Stats().rate_limited_count, 2000 - static_cast<int64_t>(accepted.size()));
}

TEST(RateLimiterTest, MaxInAnyMinuteIsExactWithTheLimitOff) {
  FakeClock clock;
  RateLimiter limiter(Limit(0), clock.AsClock());
  std::vector<absl::Time> times;
  for (int i = 0; i < 3000; ++i) {
    // Bursty: long quiet spells, then dense runs.
    clock.Advance((i / 100) % 3 == 0 ? absl::Milliseconds(10) : absl::Milliseconds(700));
    ASSERT_TRUE(limiter.Admit("a").accepted);
    times.push_back(clock.Now());
  }
  RateLimitStats s = limiter.Stats();
  EXPECT_EQ(s.rate_limited_count, 0);
  EXPECT_EQ(s.max_requests_in_any_minute, MaxInAnyWindow(times));
  EXPECT_GT(s.max_requests_in_any_minute, 100);
  int last_minute = 0;
  for (absl::Time t : times) last_minute += t > clock.Now() - kRateLimitWindow ? 1 : 0;
  EXPECT_EQ(s.requests_in_last_minute, last_minute);
}

TEST(RateLimiterTest, EachOwnerHasItsOwnBudget) {
  FakeClock clock;
  RateLimiter limiter(Limit(5), clock.AsClock());
  EXPECT_EQ(AcceptedOf(limiter, "a", 8), 5);
  EXPECT_EQ(AcceptedOf(limiter, "b", 8), 5);
  clock.Advance(absl::Seconds(30));
  EXPECT_EQ(AcceptedOf(limiter, "c", 2), 2);
  RateLimitStats s = limiter.Stats();
  // The busiest owner's count, not the total over owners.
  EXPECT_EQ(s.requests_in_last_minute, 5);
  EXPECT_EQ(s.max_requests_in_any_minute, 5);
  EXPECT_EQ(s.rate_limited_count, 6);
  clock.Advance(absl::Seconds(30));  // a's and b's have left the window
  EXPECT_EQ(limiter.Stats().requests_in_last_minute, 2);
  EXPECT_EQ(limiter.Stats().max_requests_in_any_minute, 5);
  clock.Advance(absl::Seconds(30));
  EXPECT_EQ(limiter.Stats().requests_in_last_minute, 0);
}

TEST(RateLimiterTest, ConfigureKeepsTheWindowAndResetRestoresTheStart) {
  FakeClock clock;
  RateLimiter limiter(Limit(0), clock.AsClock());
  EXPECT_EQ(AcceptedOf(limiter, "a", 5), 5);
  limiter.Configure(Limit(3, 9));
  RateLimiter::Decision refused = limiter.Admit("a");
  EXPECT_FALSE(refused.accepted);
  ASSERT_TRUE(refused.config.retry_after_seconds);
  EXPECT_EQ(*refused.config.retry_after_seconds, 9);
  limiter.Configure(Limit(6));
  EXPECT_EQ(AcceptedOf(limiter, "a", 3), 1);
  EXPECT_EQ(limiter.config().per_minute, 6);
  EXPECT_FALSE(limiter.config().retry_after_seconds);

  limiter.Reset();
  EXPECT_EQ(limiter.config().per_minute, 0);
  RateLimitStats s = limiter.Stats();
  EXPECT_EQ(s.rate_limited_count, 0);
  EXPECT_EQ(s.requests_in_last_minute, 0);
  EXPECT_EQ(s.max_requests_in_any_minute, 0);
  limiter.Configure(Limit(2));
  EXPECT_EQ(AcceptedOf(limiter, "a", 3), 2);  // the window was forgotten too
}

TEST(RateLimitedAnswerTest, IsTheGatewayBodyAsPlainJson) {
  rapidjson::Document d;
  d.Parse(RateLimitedBody(Limit(1000)).c_str());
  ASSERT_TRUE(d.IsObject());
  EXPECT_EQ(d.MemberCount(), 3u);
  EXPECT_STREQ(d["error"].GetString(), "Request limit exceeded");
  ASSERT_TRUE(d["message"].IsString());
  EXPECT_GT(d["message"].GetStringLength(), 10u);
  ASSERT_TRUE(d["status_code"].IsInt());
  EXPECT_EQ(d["status_code"].GetInt(), 429);

  httplib::Response res;
  SendRateLimited(res, Limit(1000));
  EXPECT_EQ(res.status, 429);
  EXPECT_EQ(res.get_header_value("Content-Type"), "application/json");
  EXPECT_FALSE(res.has_header("Retry-After"));
  EXPECT_EQ(res.body, RateLimitedBody(Limit(1000)));
}

TEST(RateLimitedAnswerTest, CarriesRetryAfterOnlyWhenConfigured) {
  httplib::Response res;
  SendRateLimited(res, Limit(10, 30));
  EXPECT_EQ(res.get_header_value("Retry-After"), "30");
  httplib::Response zero;
  SendRateLimited(zero, Limit(10, 0));
  EXPECT_EQ(zero.get_header_value("Retry-After"), "0");
}

}  // namespace
}  // namespace leafemu
