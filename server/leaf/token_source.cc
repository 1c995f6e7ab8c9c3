#include "server/leaf/token_source.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "rapidjson/document.h"
#include "server/leaf/leaf_errors.h"
#include "server/leaf/leaf_json.h"
#include "server/util/log.h"
#include "server/util/status_details.h"

namespace leafsvc::leaf {

std::optional<absl::Time> JwtExpiry(const Secret& jwt) {
  std::vector<absl::string_view> parts = absl::StrSplit(jwt.Reveal(), '.');
  if (parts.size() != 3) return std::nullopt;
  std::string payload;
  if (!absl::WebSafeBase64Unescape(parts[1], &payload)) return std::nullopt;
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(payload.data(), payload.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  auto exp = doc.FindMember("exp");
  if (exp == doc.MemberEnd() || !exp->value.IsNumber()) return std::nullopt;
  return absl::FromUnixSeconds(static_cast<int64_t>(exp->value.GetDouble()));
}

LoginTokenSource::LoginTokenSource(http::HttpClient* http, LeafEndpoints endpoints,
                                   LoginOptions options,
                                   std::function<absl::Time()> clock)
    : http_(http),
      endpoints_(std::move(endpoints)),
      options_(std::move(options)),
      clock_(clock ? std::move(clock) : [] { return absl::Now(); }) {}

void LoginTokenSource::GetToken(Callback done) {
  bool start = false;
  std::optional<Secret> token;
  {
    absl::MutexLock lock(&mu_);
    if (token_.has_value() && clock_() < renew_at_) {
      token = token_;
    } else {
      waiters_.push_back(std::move(done));
      start = !login_in_flight_;
      login_in_flight_ = true;
    }
  }
  if (token.has_value()) {
    done(*std::move(token));
  } else if (start) {
    StartLogin();
  }
}

bool LoginTokenSource::Invalidate(const Secret& token) {
  absl::MutexLock lock(&mu_);
  if (token_.has_value() && *token_ == token) token_.reset();
  return true;
}

int LoginTokenSource::login_count() const {
  absl::MutexLock lock(&mu_);
  return login_count_;
}

void LoginTokenSource::StartLogin() {
  http::HttpRequest request;
  request.method = "POST";
  request.url = endpoints_.Login();
  request.headers = {{"Content-Type", "application/json"},
                     {"Accept", "application/json"}};
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
                                      endpoints_.api_url());
  } else if (response->status_code != 200) {
    result = StatusFromLeafResponse(LeafOperation::kLogin, *response);
  } else {
    absl::StatusOr<Secret> token = DecodeLoginResponse(response->body);
    result = token.ok() ? std::move(token)
                        : absl::StatusOr<Secret>(StatusFromBadBody(
                              LeafOperation::kLogin, 200, token.status()));
  }

  if (!result.ok()) {
    // Leaf's words could quote what it was sent.
    result = RedactSecrets(result.status(), {options_.password.Reveal()});
  }
  std::vector<Callback> waiters;
  {
    absl::MutexLock lock(&mu_);
    login_in_flight_ = false;
    waiters.swap(waiters_);
    if (result.ok()) {
      const absl::Time now = clock_();
      absl::Time expiry = JwtExpiry(*result).value_or(now + absl::Hours(23));
      absl::Duration margin = std::min(options_.renew_margin, (expiry - now) / 10);
      token_ = *result;
      renew_at_ = expiry - margin;
      ++login_count_;
    }
  }
  if (options_.on_login) options_.on_login(result.ok());
  if (result.ok()) {
    Log(LogLevel::kInfo, "logged in to Leaf");
  } else {
    Log(LogLevel::kWarning, "Leaf login failed",
        {{"error", std::string(result.status().message())}});
  }
  for (Callback& waiter : waiters) waiter(result);
}

}  // namespace leafsvc::leaf
