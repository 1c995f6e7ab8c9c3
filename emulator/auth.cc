#include "emulator/auth.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "emulator/ids.h"
#include "emulator/jwt.h"

namespace leafemu {
namespace {
constexpr size_t kKeyBytes = 64;  // RFC 7518: an HS512 key is at least the hash size
constexpr char kMissing[] = "Full authentication is required: missing bearer token";
}  // namespace

Auth::Auth(const EmulatorOptions& options)
    : accounts_(options.accounts),
      static_tokens_(options.static_tokens),
      token_lifetime_(options.token_lifetime),
      remember_me_token_lifetime_(options.remember_me_token_lifetime),
      jwt_key_(RandomBytes(kKeyBytes)) {}

std::optional<std::string> Auth::Login(const std::string& username, const std::string& password,
                                       bool remember_me) {
  auto it = accounts_.find(username);
  if (it == accounts_.end() || it->second != password) return std::nullopt;
  std::string token =
      IssueToken(username, remember_me ? remember_me_token_lifetime_ : token_lifetime_);
  std::lock_guard<std::mutex> l(mu_);
  ++login_count_;
  return token;
}

std::string Auth::IssueToken(const std::string& username, absl::Duration lifetime) const {
  return MintJwt(Key(), username, absl::Now(), lifetime);
}

absl::Status Auth::CheckAuthorization(std::optional<absl::string_view> header) const {
  if (!header) return absl::UnauthenticatedError(kMissing);
  absl::string_view value = absl::StripAsciiWhitespace(*header);
  if (value.size() < 7 || !absl::EqualsIgnoreCase(value.substr(0, 7), "Bearer ")) {
    return absl::UnauthenticatedError("Malformed Authorization header: expected 'Bearer <token>'");
  }
  absl::string_view token = absl::StripAsciiWhitespace(value.substr(7));
  if (token.empty()) return absl::UnauthenticatedError(kMissing);
  if (std::find(static_tokens_.begin(), static_tokens_.end(), token) != static_tokens_.end()) {
    return absl::OkStatus();
  }
  return VerifyJwt(Key(), token, absl::Now());
}

void Auth::RevokeAllTokens() {
  std::lock_guard<std::mutex> l(mu_);
  jwt_key_ = RandomBytes(kKeyBytes);
}

int Auth::LoginCount() const {
  std::lock_guard<std::mutex> l(mu_);
  return login_count_;
}

void Auth::ResetLoginCount() {
  std::lock_guard<std::mutex> l(mu_);
  login_count_ = 0;
}

std::string Auth::Key() const {
  std::lock_guard<std::mutex> l(mu_);
  return jwt_key_;
}

}  // namespace leafemu
