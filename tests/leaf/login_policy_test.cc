#include "server/leaf/login_policy.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/errors/status_details.h"

namespace leafsvc::leaf {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

TEST(LoginPolicyTest, OnlyOneLoginIsAskedForWhateverTheCallers) {
  LoginPolicy p({});
  EXPECT_TRUE(p.OnRequest(kNow).start_login);
  for (int i = 0; i < 100; ++i) {
    LoginPolicy::Decision d = p.OnRequest(kNow);
    EXPECT_FALSE(d.start_login);
    EXPECT_TRUE(d.wait);
  }
}

TEST(LoginPolicyTest, BackoffGrowsExponentiallyWithJitterAndIsCapped) {
  LoginPolicyOptions o;
  o.initial_backoff = absl::Seconds(1);
  o.max_backoff = absl::Seconds(30);
  LoginPolicy p(o);
  absl::Time now = kNow;
  double expected = 1;
  for (int failure = 1; failure <= 10; ++failure) {
    ASSERT_TRUE(p.OnRequest(now).start_login) << failure;
    // random01 = 0: no jitter; 1: the full 20% off.
    const absl::Status st = p.OnLoginFailed(absl::UnavailableError("down"), now, 0.0);
    const double cap = std::min(expected, 30.0);
    EXPECT_DOUBLE_EQ(absl::ToDoubleSeconds(p.next_attempt_at() - now), cap) << failure;
    EXPECT_EQ(GetStatusDetails(st).retry_delay, absl::Seconds(cap));
    LoginPolicy::Decision early = p.OnRequest(now + absl::Seconds(cap) - absl::Milliseconds(1));
    ASSERT_TRUE(early.fail.has_value());
    EXPECT_EQ(early.fail->code(), absl::StatusCode::kUnavailable);
    EXPECT_FALSE(early.start_login);
    now += absl::Seconds(cap);
    expected *= 2;
  }
  LoginPolicy jittered(o);
  jittered.OnRequest(kNow);
  (void)jittered.OnLoginFailed(absl::UnavailableError("down"), kNow, 1.0);
  EXPECT_EQ(jittered.next_attempt_at() - kNow, absl::Milliseconds(800));
}

TEST(LoginPolicyTest, SuccessEndsTheBackoff) {
  LoginPolicy p({});
  p.OnRequest(kNow);
  (void)p.OnLoginFailed(absl::UnauthenticatedError("bad password"), kNow, 0.5);
  const absl::Time later = p.next_attempt_at();
  ASSERT_TRUE(p.OnRequest(later).start_login);
  p.OnLoginSucceeded(Secret("t1"), later + absl::Hours(24), later);
  EXPECT_EQ(p.next_attempt_at(), absl::InfinitePast());
  LoginPolicy::Decision d = p.OnRequest(later);
  ASSERT_TRUE(d.token.has_value());
  EXPECT_EQ(d.token->Reveal(), "t1");
}

TEST(LoginPolicyTest, RenewalStartsInTheWindowWithoutMakingCallersWait) {
  LoginPolicyOptions o;
  o.renew_margin = absl::Minutes(5);
  LoginPolicy p(o);
  p.OnRequest(kNow);
  p.OnLoginSucceeded(Secret("t1"), kNow + absl::Hours(24), kNow);
  EXPECT_FALSE(p.OnRequest(kNow + absl::Hours(23)).start_login);
  LoginPolicy::Decision in_window = p.OnRequest(kNow + absl::Hours(24) - absl::Minutes(4));
  EXPECT_TRUE(in_window.start_login);
  EXPECT_FALSE(in_window.wait);
  ASSERT_TRUE(in_window.token.has_value());
  // Past the expiry with the renewal still in flight: now callers wait.
  LoginPolicy::Decision expired = p.OnRequest(kNow + absl::Hours(25));
  EXPECT_TRUE(expired.wait);
  EXPECT_FALSE(expired.start_login);
}

TEST(LoginPolicyTest, UnusableExpGetsTheDefaultLifetime) {
  LoginPolicyOptions o;
  o.default_lifetime = absl::Hours(23);
  for (std::optional<absl::Time> exp :
       {std::optional<absl::Time>(), std::optional<absl::Time>(kNow - absl::Seconds(1)),
        std::optional<absl::Time>(kNow), std::optional<absl::Time>(kNow + absl::Hours(24 * 400))}) {
    LoginPolicy p(o);
    p.OnRequest(kNow);
    p.OnLoginSucceeded(Secret("t"), exp, kNow);
    EXPECT_TRUE(p.lifetime_assumed());
    EXPECT_TRUE(p.OnRequest(kNow + absl::Hours(22)).token.has_value());
    EXPECT_FALSE(p.OnRequest(kNow + absl::Hours(22)).start_login);
    EXPECT_TRUE(p.OnRequest(kNow + absl::Hours(23)).start_login);
  }
  LoginPolicy good(o);
  good.OnRequest(kNow);
  good.OnLoginSucceeded(Secret("t"), kNow + absl::Hours(24 * 30), kNow);
  EXPECT_FALSE(good.lifetime_assumed());
}

TEST(LoginPolicyTest, UnauthorizedDiscardsOnlyTheGenerationUsed) {
  LoginPolicy p({});
  p.OnRequest(kNow);
  p.OnLoginSucceeded(Secret("new"), kNow + absl::Hours(24), kNow);
  EXPECT_TRUE(p.OnUnauthorized(Secret("old"), kNow));
  EXPECT_TRUE(p.OnRequest(kNow).token.has_value());
  EXPECT_TRUE(p.OnUnauthorized(Secret("new"), kNow));
  LoginPolicy::Decision d = p.OnRequest(kNow);
  EXPECT_FALSE(d.token.has_value());
  EXPECT_TRUE(d.start_login);
}

// Leaf refuses one resource whatever the token: each call's 401 used to
// discard the fresh token and start a login (2,200 calls, 2,201 logins).
TEST(LoginPolicyTest, A401StormAfterAFreshLoginCostsOneLoginPerBackoffStep) {
  LoginPolicyOptions o;
  o.initial_backoff = absl::Seconds(1);
  o.max_backoff = absl::Seconds(8);
  LoginPolicy p(o);
  absl::Time now = kNow;
  int logins = 0;
  std::vector<absl::Time> login_times;
  auto serve = [&](int calls, absl::Duration between) {
    for (int i = 0; i < calls; ++i) {
      LoginPolicy::Decision d = p.OnRequest(now);
      if (d.start_login) {
        ++logins;
        login_times.push_back(now);
        p.OnLoginSucceeded(Secret("t" + std::to_string(logins)), now + absl::Hours(24), now);
        d = p.OnRequest(now);
      }
      ASSERT_TRUE(d.token.has_value()) << "no caller waits or fails while a token is held";
      p.OnUnauthorized(*d.token, now);  // the resource is refused
      now += between;
    }
  };
  serve(2000, absl::Milliseconds(1));  // 2 s of calls
  // The first login, the one at the first 401 (the token may really have
  // been revoked), then one per step: +1 s, +2 s.
  EXPECT_LE(logins, 4);
  for (size_t i = 2; i < login_times.size(); ++i) {
    EXPECT_GE(login_times[i] - login_times[i - 1], absl::Seconds(std::min(1 << (i - 2), 8))) << i;
  }
  // Capped: a long storm logs in once per max_backoff at most.
  const int before = logins;
  serve(60000, absl::Milliseconds(1));  // 60 s more
  EXPECT_LE(logins - before, 60 / 8 + 2);
  EXPECT_GE(logins - before, 60 / 8 - 2);  // and the token is still renewed
}

TEST(LoginPolicyTest, WhileLoginsAreSpacedA401KeepsTheTokenAndSaysNoRetry) {
  LoginPolicy p({});
  p.OnRequest(kNow);
  p.OnLoginSucceeded(Secret("t1"), kNow + absl::Hours(24), kNow);
  EXPECT_TRUE(p.OnUnauthorized(Secret("t1"), kNow));  // one re-login at once
  ASSERT_TRUE(p.OnRequest(kNow).start_login);
  p.OnLoginSucceeded(Secret("t2"), kNow + absl::Hours(24), kNow);
  EXPECT_FALSE(p.OnUnauthorized(Secret("t2"), kNow + absl::Milliseconds(10)));
  LoginPolicy::Decision d = p.OnRequest(kNow + absl::Milliseconds(10));
  ASSERT_TRUE(d.token.has_value());
  EXPECT_EQ(d.token->Reveal(), "t2");
  EXPECT_FALSE(d.start_login);
  // The step over, the next 401 gets its login.
  EXPECT_TRUE(p.OnUnauthorized(Secret("t2"), kNow + absl::Seconds(1)));
  EXPECT_TRUE(p.OnRequest(kNow + absl::Seconds(1)).start_login);
}

TEST(LoginPolicyTest, ATokenThatServedLongStartsTheCountAgain) {
  LoginPolicyOptions o;
  o.max_backoff = absl::Seconds(30);
  LoginPolicy p(o);
  absl::Time now = kNow;
  for (int i = 0; i < 5; ++i) {  // a storm grows the step to 16 s
    ASSERT_TRUE(p.OnRequest(now).start_login);
    p.OnLoginSucceeded(Secret("t" + std::to_string(i)), now + absl::Hours(24), now);
    now += absl::Seconds(1 << i);
    ASSERT_TRUE(p.OnUnauthorized(Secret("t" + std::to_string(i)), now)) << i;
  }
  ASSERT_TRUE(p.OnRequest(now).start_login);
  p.OnLoginSucceeded(Secret("good"), now + absl::Hours(24), now);
  now += absl::Hours(1);  // served an hour, then revoked: re-login at once
  EXPECT_TRUE(p.OnUnauthorized(Secret("good"), now));
  ASSERT_TRUE(p.OnRequest(now).start_login);
}

}  // namespace
}  // namespace leafsvc::leaf
