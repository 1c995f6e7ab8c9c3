#include "server/leaf/token_source.h"

#include <cmath>
#include <random>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "rapidjson/document.h"
#include "server/errors/status_details.h"
#include "server/json/untrusted_json.h"
#include "server/leaf/leaf_errors.h"
#include "server/leaf/leaf_json.h"
#include "server/observability/log.h"
#include "server/secrets/redact.h"

namespace leafsvc::leaf {

std::optional<absl::Time> JwtExpiry(const Secret& jwt) {
  std::vector<absl::string_view> parts = absl::StrSplit(jwt.Reveal(), '.');
  if (parts.size() != 3) return std::nullopt;
  std::string payload;
  if (!absl::WebSafeBase64Unescape(parts[1], &payload)) return std::nullopt;
  rapidjson::Document doc;
  if (!json::ParseUntrusted(payload, doc).ok() || !doc.IsObject()) return std::nullopt;
  auto exp = doc.FindMember("exp");
  if (exp == doc.MemberEnd()) return std::nullopt;
  const std::optional<double> seconds = json::NumberAsDouble(exp->value);
  // Checked before the conversion: a huge value is undefined behaviour as an
  // integer. 253402300799 is 9999-12-31T23:59:59Z.
  if (!seconds || *seconds < 0 || *seconds > 253402300799.0) return std::nullopt;
  return absl::FromUnixSeconds(static_cast<int64_t>(*seconds));
}

namespace {

double DefaultRandom() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

}  // namespace

LoginTokenSource::LoginTokenSource(http::HttpClient* http, LeafEndpoints endpoints,
                                   LoginOptions options, std::function<absl::Time()> clock)
    : http_(http),
      endpoints_(std::move(endpoints)),
      options_(std::move(options)),
      clock_(clock ? std::move(clock) : [] { return absl::Now(); }),
      random_(options_.random ? options_.random : DefaultRandom),
      policy_(options_.policy) {}

void LoginTokenSource::GetToken(Callback done) {
  LoginPolicy::Decision d;
  {
    absl::MutexLock lock(&mu_);
    d = policy_.OnRequest(clock_());
    if (d.wait) waiters_.push_back(std::move(done));
    if (d.start_login) ++login_attempts_;
  }
  // Callbacks and the login run outside the lock: a caller may come back in.
  if (d.start_login) StartLogin();
  if (d.token.has_value()) {
    done(*std::move(d.token));
  } else if (d.fail.has_value()) {
    done(*std::move(d.fail));
  }
}

bool LoginTokenSource::Invalidate(const Secret& token) {
  absl::MutexLock lock(&mu_);
  return policy_.OnUnauthorized(token, clock_());
}

int LoginTokenSource::login_count() const {
  absl::MutexLock lock(&mu_);
  return login_count_;
}

int LoginTokenSource::login_attempts() const {
  absl::MutexLock lock(&mu_);
  return login_attempts_;
}

void LoginTokenSource::StartLogin() {
  http::HttpRequest request;
  request.method = "POST";
  request.url = endpoints_.Login();
  request.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  request.body = EncodeLogin(options_.username, options_.password, true);
  request.deadline = clock_() + options_.timeout;
  Log(LogLevel::kInfo, "logging in to Leaf", {{"url", request.url}});
  http_->Send(std::move(request), [this](absl::StatusOr<http::HttpResponse> response) {
    OnLoginDone(std::move(response));
  });
}

void LoginTokenSource::OnLoginDone(absl::StatusOr<http::HttpResponse> response) {
  absl::StatusOr<Secret> result;
  if (!response.ok()) {
    result = StatusFromTransportError(LeafOperation::kLogin, response.status(),
                                      endpoints_.api_url(), "");
  } else if (response->status_code != 200) {
    result = StatusFromLeafResponse(LeafOperation::kLogin, *response, "");
  } else {
    absl::StatusOr<Secret> token = DecodeLoginResponse(response->body);
    result = token.ok() ? std::move(token)
                        : absl::StatusOr<Secret>(
                              StatusFromBadBody(LeafOperation::kLogin, 200, token.status(), ""));
  }

  if (!result.ok()) {
    // Leaf's words could quote what it was sent.
    result = RedactSecrets(result.status(), {options_.password.Reveal()});
  }
  std::vector<Callback> waiters;
  bool warn_lifetime = false;
  absl::Time next_attempt;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_();
    if (result.ok()) {
      // Never to appear in any output, whoever quotes it (the last few
      // tokens: older ones are no longer sent anywhere).
      RegisterRotatingSecret(result->Reveal());
      policy_.OnLoginSucceeded(*result, JwtExpiry(*result), now);
      ++login_count_;
      warn_lifetime = policy_.lifetime_assumed() && !warned_lifetime_;
      warned_lifetime_ = warned_lifetime_ || warn_lifetime;
    } else {
      result = policy_.OnLoginFailed(result.status(), now, random_());
      next_attempt = policy_.next_attempt_at();
    }
    waiters.swap(waiters_);
  }
  if (options_.on_login) options_.on_login(result.ok());
  if (result.ok()) {
    Log(LogLevel::kInfo, "logged in to Leaf");
    if (warn_lifetime) {
      Log(LogLevel::kWarning,
          "the Leaf token has no usable expiry (exp missing, past or implausible); assuming "
          "its lifetime and renewing before it ends",
          {{"assumed_lifetime_s", absl::ToInt64Seconds(options_.policy.default_lifetime)}});
    }
  } else {
    Log(LogLevel::kWarning,
        "Leaf login failed; callers without a valid token fail fast until the next attempt",
        {{"error", std::string(result.status().message())},
         {"next_attempt_in_ms", absl::ToInt64Milliseconds(next_attempt - clock_())}});
  }
  for (Callback& waiter : waiters) waiter(result);
}

}  // namespace leafsvc::leaf
