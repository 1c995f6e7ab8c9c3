#include "server/leaf/login_policy.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "server/errors/status_details.h"

namespace leafsvc::leaf {

LoginPolicy::Decision LoginPolicy::OnRequest(absl::Time now) {
  Decision d;
  const bool valid = token_.has_value() && now < expiry_;
  const bool may_start = !login_in_flight_ && now >= next_attempt_at_;
  if (valid) {
    d.token = token_;
    if (now >= renew_at_ && may_start) {
      // Renew in the background; this caller goes on with the valid token.
      login_in_flight_ = true;
      d.start_login = true;
    }
    return d;
  }
  if (login_in_flight_) {
    d.wait = true;
    return d;
  }
  if (!may_start) {
    d.fail = WithRetryDelay(last_error_, now);
    return d;
  }
  login_in_flight_ = true;
  d.start_login = true;
  d.wait = true;
  return d;
}

void LoginPolicy::OnLoginSucceeded(Secret token, std::optional<absl::Time> exp, absl::Time now) {
  login_in_flight_ = false;
  failures_ = 0;
  next_attempt_at_ = absl::InfinitePast();
  last_error_ = absl::OkStatus();
  lifetime_assumed_ = !exp.has_value() || *exp <= now || *exp - now > options_.max_lifetime;
  expiry_ = lifetime_assumed_ ? now + options_.default_lifetime : *exp;
  renew_at_ = expiry_ - std::min(options_.renew_margin, (expiry_ - now) / 10);
  token_ = std::move(token);
  obtained_at_ = now;
  ++generation_;
}

absl::Status LoginPolicy::OnLoginFailed(absl::Status error, absl::Time now, double random01) {
  login_in_flight_ = false;
  ++failures_;
  const double capped = absl::ToDoubleSeconds(Step(failures_));
  const double jittered = capped * (1.0 - options_.jitter * std::clamp(random01, 0.0, 1.0));
  next_attempt_at_ = now + absl::Seconds(jittered);
  last_error_ = std::move(error);
  return WithRetryDelay(last_error_, now);
}

absl::Duration LoginPolicy::Step(int step) const {
  if (step <= 0) return absl::ZeroDuration();
  const double base = absl::ToDoubleSeconds(options_.initial_backoff) *
                      std::pow(options_.multiplier, std::min(step - 1, 30));
  return absl::Seconds(std::min(base, absl::ToDoubleSeconds(options_.max_backoff)));
}

bool LoginPolicy::OnUnauthorized(const Secret& token, absl::Time now) {
  // Only the generation the call used is stale; a newer token stays.
  if (!token_.has_value() || !(*token_ == token)) return true;
  const absl::Duration age = now - obtained_at_;
  // A token that served well past the longest step (a storm at the cap
  // refuses it just after one step) was good: this 401 starts a new count.
  if (age > 2 * options_.max_backoff) relogins_ = 0;
  // A fresh token refused again: Leaf refuses the resource, not (only) the
  // token. Keep it until the step is over.
  if (age < Step(relogins_)) return false;
  ++relogins_;
  token_.reset();
  expiry_ = absl::InfinitePast();
  return true;
}

absl::Status LoginPolicy::WithRetryDelay(const absl::Status& error, absl::Time now) const {
  StatusDetails d = GetStatusDetails(error);
  d.retry_delay = std::max(absl::ZeroDuration(), next_attempt_at_ - now);
  return MakeStatus(error.code(), error.message(), d);
}

}  // namespace leafsvc::leaf
