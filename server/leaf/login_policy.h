// When to log in to Leaf, decided apart from how (LoginTokenSource does the
// HTTP). Pure state and arithmetic, with the clock and jitter passed in, so
// every rule is testable on its own:
// - at most one login in flight, shared by every caller (single flight);
// - a token inside its renew window is still handed out while a renewal runs
//   in the background: no caller waits for a renewal;
// - after a failed login the next one waits out an exponential, jittered
//   backoff; callers with no valid token meanwhile fail at once with the last
//   login error and a retry delay (no login storm, whatever the call rate);
// - a 401 discards a token only if it is the generation the call used;
// - successful logins are spaced too: a token that gets a 401 soon after a
//   login that a 401 caused is kept (the call reports Leaf's 401) until the
//   next step of the same backoff has passed since that login, so a resource
//   Leaf refuses whatever the token costs one login per step, not one per
//   call, and calls with other resources go on with the token meanwhile;
// - a token whose `exp` is missing, past or absurd gets a default lifetime.
#ifndef SERVER_LEAF_LOGIN_POLICY_H_
#define SERVER_LEAF_LOGIN_POLICY_H_

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/secrets/secret.h"

namespace leafsvc::leaf {

struct LoginPolicyOptions {
  // Renew this long before the token's expiry (or a tenth of its lifetime,
  // whichever is shorter).
  absl::Duration renew_margin = absl::Minutes(5);
  // Lifetime assumed when `exp` is unusable. Leaf documents 24 h (30 days with
  // rememberMe); the shorter one, less a margin, is safe either way.
  absl::Duration default_lifetime = absl::Hours(23);
  // An `exp` further away than this is not believed.
  absl::Duration max_lifetime = absl::Hours(24 * 366);
  // Backoff after consecutive failed logins: initial * multiplier^(n-1),
  // capped, each step jittered down by up to `jitter` (0.2: 80-100%).
  absl::Duration initial_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Minutes(5);
  double multiplier = 2.0;
  double jitter = 0.2;
};

class LoginPolicy {
 public:
  explicit LoginPolicy(LoginPolicyOptions options) : options_(options) {}

  // What a caller asking for a token at `now` gets.
  struct Decision {
    std::optional<Secret> token;       // hand this out now
    bool start_login = false;          // the caller must start the (one) login
    bool wait = false;                 // no token: wait for the login in flight
    std::optional<absl::Status> fail;  // no token and in backoff: fail now
  };
  Decision OnRequest(absl::Time now);

  // A login the policy asked for has ended.
  void OnLoginSucceeded(Secret token, std::optional<absl::Time> exp, absl::Time now);
  // `error` is what callers will be told until the next attempt; the
  // returned status is `error` with the retry delay attached.
  absl::Status OnLoginFailed(absl::Status error, absl::Time now, double random01);

  // Leaf answered 401 to `token` at `now`. Returns true when asking again
  // may give a different token: a newer generation exists, or the token is
  // now discarded and a login will follow. False while logins caused by 401s
  // are being spaced: the token stays, and the 401 is the call's answer.
  bool OnUnauthorized(const Secret& token, absl::Time now);

  // True when the last OnLoginSucceeded had to assume default_lifetime.
  bool lifetime_assumed() const { return lifetime_assumed_; }
  std::uint64_t generation() const { return generation_; }
  // The next login may start at this time (InfinitePast when not in backoff).
  absl::Time next_attempt_at() const { return next_attempt_at_; }

 private:
  absl::Status WithRetryDelay(const absl::Status& error, absl::Time now) const;
  // initial_backoff * multiplier^(step-1), capped; zero for step 0.
  absl::Duration Step(int step) const;

  const LoginPolicyOptions options_;
  std::optional<Secret> token_;
  std::uint64_t generation_ = 0;
  absl::Time expiry_ = absl::InfinitePast();
  absl::Time renew_at_ = absl::InfinitePast();
  absl::Time obtained_at_ = absl::InfinitePast();
  // Logins in a row that a 401 on a young token caused.
  int relogins_ = 0;
  bool login_in_flight_ = false;
  int failures_ = 0;
  absl::Time next_attempt_at_ = absl::InfinitePast();
  absl::Status last_error_;
  bool lifetime_assumed_ = false;
};

}  // namespace leafsvc::leaf

#endif  // SERVER_LEAF_LOGIN_POLICY_H_
