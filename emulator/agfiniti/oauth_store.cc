#include "emulator/agfiniti/oauth_store.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "emulator/agfiniti/pkce.h"
#include "emulator/ids.h"

namespace leafemu {
namespace agfiniti {
namespace {

// 256 random bits: ids, codes and tokens nobody can guess.
std::string NewSecret() { return HexEncode(RandomBytes(32)); }

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

bool IsKnownScope(const std::string& scope) {
  return scope == "read" || scope == "readwrite" || scope == "fileupload";
}

const char* TokenErrorName(TokenError e) {
  switch (e) {
    case TokenError::kInvalidRequest:
      return "invalid_request";
    case TokenError::kInvalidClient:
      return "invalid_client";
    case TokenError::kInvalidGrant:
      return "invalid_grant";
    case TokenError::kUnsupportedGrantType:
      return "unsupported_grant_type";
    case TokenError::kInvalidScope:
      return "invalid_scope";
  }
  return "invalid_request";
}

AgFinitiStore::AgFinitiStore(AgFinitiOptions options, Clock clock)
    : options_(std::move(options)), clock_(std::move(clock)) {
  ResetLocked();
}

absl::Status AgFinitiStore::ValidateApp(const AgFinitiApp& app) {
  if (app.public_key.empty() || app.private_key.empty()) {
    return absl::InvalidArgumentError("an AgFiniti application needs a public and a private key");
  }
  for (const std::string& uri : app.redirect_uris) {
    if (!(absl::StartsWith(uri, "http://") || absl::StartsWith(uri, "https://")) ||
        uri.find('#') != std::string::npos || uri.size() > 2048) {
      return absl::InvalidArgumentError(
          "a redirect URI must be an absolute http(s) URI without fragment (RFC 6749 §3.1.2)");
    }
  }
  return absl::OkStatus();
}

absl::Status AgFinitiStore::ValidateOptions(const AgFinitiOptions& options) {
  for (const AgFinitiApp& app : options.apps) {
    if (absl::Status s = ValidateApp(app); !s.ok()) return s;
  }
  for (const auto& [user, password] : options.growers) {
    if (user.empty()) return absl::InvalidArgumentError("an AgFiniti grower needs a username");
  }
  if (options.code_lifetime <= absl::ZeroDuration() ||
      options.access_token_lifetime <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("AgFiniti lifetimes must be positive");
  }
  return absl::OkStatus();
}

absl::Status AgFinitiStore::AddApp(AgFinitiApp app) {
  if (absl::Status s = ValidateApp(app); !s.ok()) return s;
  if (app.name.empty()) app.name = app.public_key;
  std::lock_guard<std::mutex> l(mu_);
  apps_[app.public_key] = std::move(app);
  return absl::OkStatus();
}

absl::Status AgFinitiStore::AddGrower(const std::string& username, const std::string& password) {
  if (username.empty()) return absl::InvalidArgumentError("a grower needs a username");
  std::lock_guard<std::mutex> l(mu_);
  growers_[username] = password;
  return absl::OkStatus();
}

bool AgFinitiStore::HasGrowers() const {
  std::lock_guard<std::mutex> l(mu_);
  return !growers_.empty();
}

std::optional<AgFinitiApp> AgFinitiStore::App(const std::string& client_id) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = apps_.find(client_id);
  if (it == apps_.end()) return std::nullopt;
  return it->second;
}

bool AgFinitiStore::CheckClient(const std::string& client_id, const std::string& secret) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = apps_.find(client_id);
  return it != apps_.end() && ConstantTimeEquals(it->second.private_key, secret);
}

void AgFinitiStore::RecordAuthorize(AuthorizeParams params) {
  std::lock_guard<std::mutex> l(mu_);
  ++stats_.authorize_requests;
  last_authorize_ = std::move(params);
}

std::optional<AuthorizeParams> AgFinitiStore::LastAuthorize() const {
  std::lock_guard<std::mutex> l(mu_);
  return last_authorize_;
}

std::string AgFinitiStore::BeginAuthorization(PendingAuthorization p) {
  const absl::Time now = clock_();
  std::lock_guard<std::mutex> l(mu_);
  PruneLocked(now);
  while (pending_.size() >= kMaxPending) {
    auto oldest = std::min_element(
        pending_.begin(), pending_.end(),
        [](const auto& a, const auto& b) { return a.second.expires < b.second.expires; });
    pending_.erase(oldest);
  }
  std::string id = NewSecret();
  pending_[id] = Pending{std::move(p), now + options_.code_lifetime};
  return id;
}

std::optional<PendingAuthorization> AgFinitiStore::PendingSignIn(const std::string& id) const {
  const absl::Time now = clock_();
  std::lock_guard<std::mutex> l(mu_);
  auto it = pending_.find(id);
  if (it == pending_.end() || it->second.signed_in || it->second.expires <= now)
    return std::nullopt;
  return it->second.auth;
}

AgFinitiStore::SignInOutcome AgFinitiStore::SignIn(const std::string& id,
                                                   const std::string& username,
                                                   const std::string& password,
                                                   std::string* consent_id) {
  const absl::Time now = clock_();
  std::lock_guard<std::mutex> l(mu_);
  auto it = pending_.find(id);
  if (it == pending_.end() || it->second.signed_in || it->second.expires <= now) {
    return SignInOutcome::kUnknownRequest;
  }
  auto grower = growers_.find(username);
  if (grower == growers_.end() || !ConstantTimeEquals(grower->second, password)) {
    ++stats_.sign_in_failures;
    if (++it->second.failures >= kMaxSignInFailures) {
      pending_.erase(it);
      return SignInOutcome::kTooManyFailures;
    }
    return SignInOutcome::kWrongPassword;
  }
  Pending moved = std::move(it->second);
  pending_.erase(it);
  moved.signed_in = true;
  moved.auth.grower = username;
  *consent_id = NewSecret();
  pending_[*consent_id] = std::move(moved);
  return SignInOutcome::kSignedIn;
}

std::optional<PendingAuthorization> AgFinitiStore::PendingConsent(
    const std::string& consent_id) const {
  const absl::Time now = clock_();
  std::lock_guard<std::mutex> l(mu_);
  auto it = pending_.find(consent_id);
  if (it == pending_.end() || !it->second.signed_in || it->second.expires <= now) {
    return std::nullopt;
  }
  return it->second.auth;
}

std::optional<ConsentResult> AgFinitiStore::Consent(const std::string& consent_id, bool allow) {
  const absl::Time now = clock_();
  std::lock_guard<std::mutex> l(mu_);
  auto it = pending_.find(consent_id);
  if (it == pending_.end() || !it->second.signed_in || it->second.expires <= now) {
    return std::nullopt;
  }
  PendingAuthorization auth = std::move(it->second.auth);
  pending_.erase(it);
  ConsentResult out{auth.redirect_uri, auth.state, std::nullopt};
  if (!allow) {
    ++stats_.consents_denied;
    return out;
  }
  ++stats_.consents_allowed;
  ++stats_.codes_issued;
  out.code = NewSecret();
  codes_[*out.code] = Code{std::move(auth), now + options_.code_lifetime};
  return out;
}

TokenGrant AgFinitiStore::IssueLocked(const std::string& client_id, const std::string& grower,
                                      const std::string& scope, absl::Time now,
                                      std::vector<std::string>* access_out,
                                      std::vector<std::string>* refresh_out) {
  TokenGrant g;
  g.access_token = NewSecret();
  g.refresh_token = NewSecret();
  g.scope = scope;
  g.expires_in = absl::ToInt64Seconds(options_.access_token_lifetime);
  access_tokens_[g.access_token] =
      Token{client_id, grower, scope, now + options_.access_token_lifetime, false};
  refresh_tokens_[g.refresh_token] = Token{client_id, grower, scope, absl::InfiniteFuture(), false};
  ++stats_.access_tokens_issued;
  ++stats_.refresh_tokens_issued;
  if (access_out) access_out->push_back(g.access_token);
  if (refresh_out) refresh_out->push_back(g.refresh_token);
  return g;
}

TokenResult AgFinitiStore::RedeemCode(const std::string& client_id, const std::string& code,
                                      const std::string& redirect_uri,
                                      const std::optional<std::string>& code_verifier) {
  const absl::Time now = clock_();
  TokenResult r;
  std::lock_guard<std::mutex> l(mu_);
  auto it = codes_.find(code);
  if (it == codes_.end() || it->second.expires <= now) {
    r.description = "the authorization code is unknown or expired";
    return r;
  }
  Code& c = it->second;
  if (c.auth.client_id != client_id) {
    r.description = "the authorization code was issued to another client";
    return r;
  }
  if (c.redeemed) {
    // RFC 6749 §4.1.2: a code used twice revokes what it issued.
    ++stats_.code_replays;
    for (const std::string& t : c.access_tokens) access_tokens_[t].revoked = true;
    for (const std::string& t : c.refresh_tokens) {
      Token& token = refresh_tokens_[t];
      if (!token.revoked) {
        token.revoked = true;
        ++stats_.refresh_tokens_revoked;
        r.revoked_refresh_tokens.push_back(t);
      }
    }
    r.description = "the authorization code was already used; its tokens are revoked";
    return r;
  }
  if (c.auth.redirect_uri != redirect_uri) {
    r.description = "redirect_uri does not match the authorization request";
    return r;
  }
  if (!c.auth.code_challenge.empty()) {
    if (!code_verifier || !VerifyS256(*code_verifier, c.auth.code_challenge)) {
      r.description = "code_verifier does not match the code_challenge";
      return r;
    }
  } else if (code_verifier) {
    r.description = "code_verifier given but the authorization request had no code_challenge";
    return r;
  }
  c.redeemed = true;
  ++stats_.codes_redeemed;
  r.grant = IssueLocked(client_id, c.auth.grower, absl::StrJoin(c.auth.scopes, " "), now,
                        &c.access_tokens, &c.refresh_tokens);
  return r;
}

TokenResult AgFinitiStore::Refresh(const std::string& client_id, const std::string& refresh_token,
                                   const std::optional<std::string>& scope) {
  const absl::Time now = clock_();
  TokenResult r;
  std::lock_guard<std::mutex> l(mu_);
  auto it = refresh_tokens_.find(refresh_token);
  if (it == refresh_tokens_.end() || it->second.revoked || it->second.client_id != client_id) {
    r.description = "the refresh token is unknown, revoked or issued to another client";
    return r;
  }
  const Token token = it->second;
  std::string granted = token.scope;
  if (scope) {
    std::vector<std::string> have = absl::StrSplit(token.scope, ' ', absl::SkipEmpty());
    std::vector<std::string> asked = absl::StrSplit(*scope, ' ', absl::SkipEmpty());
    for (const std::string& s : asked) {
      if (std::find(have.begin(), have.end(), s) == have.end()) {
        r.error = TokenError::kInvalidScope;
        r.description = "scope exceeds the scope originally granted";
        return r;
      }
    }
    if (!asked.empty()) granted = absl::StrJoin(asked, " ");
  }
  TokenGrant g;
  g.access_token = NewSecret();
  g.refresh_token = refresh_token;  // AgFiniti's refresh tokens do not rotate here
  g.scope = granted;
  g.expires_in = absl::ToInt64Seconds(options_.access_token_lifetime);
  access_tokens_[g.access_token] =
      Token{client_id, token.grower, granted, now + options_.access_token_lifetime, false};
  ++stats_.access_tokens_issued;
  r.grant = std::move(g);
  return r;
}

void AgFinitiStore::CountTokenRequest() {
  std::lock_guard<std::mutex> l(mu_);
  ++stats_.token_requests;
}

bool AgFinitiStore::IsLiveRefreshToken(const std::string& refresh_token,
                                       const std::string& public_key) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = refresh_tokens_.find(refresh_token);
  return it != refresh_tokens_.end() && !it->second.revoked &&
         (public_key.empty() || it->second.client_id == public_key);
}

std::vector<std::string> AgFinitiStore::RevokeGrower(const std::string& username) {
  std::vector<std::string> revoked;
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [value, token] : access_tokens_) {
    if (token.grower == username) token.revoked = true;
  }
  for (auto& [value, token] : refresh_tokens_) {
    if (token.grower == username && !token.revoked) {
      token.revoked = true;
      ++stats_.refresh_tokens_revoked;
      revoked.push_back(value);
    }
  }
  return revoked;
}

absl::StatusOr<std::string> AgFinitiStore::IssueRefreshToken(const std::string& username,
                                                             const std::string& client_id,
                                                             const std::string& scope) {
  const absl::Time now = clock_();
  std::lock_guard<std::mutex> l(mu_);
  if (growers_.count(username) == 0) return absl::NotFoundError("no such AgFiniti grower");
  if (apps_.count(client_id) == 0) return absl::NotFoundError("no such AgFiniti application");
  return IssueLocked(client_id, username, scope.empty() ? "read readwrite" : scope, now, nullptr,
                     nullptr)
      .refresh_token;
}

void AgFinitiStore::SetTokenFault(TokenFault fault) {
  std::lock_guard<std::mutex> l(mu_);
  fault_ = std::move(fault);
}

void AgFinitiStore::ClearTokenFault() {
  std::lock_guard<std::mutex> l(mu_);
  fault_.reset();
}

std::optional<TokenFault> AgFinitiStore::TakeTokenFault() {
  std::lock_guard<std::mutex> l(mu_);
  if (!fault_ || fault_->times == 0) return std::nullopt;
  TokenFault out = *fault_;
  if (fault_->times > 0 && --fault_->times == 0) fault_.reset();
  ++stats_.token_faults_served;
  return out;
}

AgFinitiStats AgFinitiStore::Stats() const {
  const absl::Time now = clock_();
  std::lock_guard<std::mutex> l(mu_);
  AgFinitiStats s = stats_;
  s.apps = static_cast<int>(apps_.size());
  s.growers = static_cast<int>(growers_.size());
  s.pending_authorizations = static_cast<int>(std::count_if(
      pending_.begin(), pending_.end(), [now](const auto& p) { return p.second.expires > now; }));
  s.refresh_tokens_live =
      static_cast<int>(std::count_if(refresh_tokens_.begin(), refresh_tokens_.end(),
                                     [](const auto& t) { return !t.second.revoked; }));
  return s;
}

void AgFinitiStore::Reset() {
  std::lock_guard<std::mutex> l(mu_);
  ResetLocked();
}

void AgFinitiStore::ResetLocked() {
  apps_.clear();
  for (AgFinitiApp app : options_.apps) {
    if (!ValidateApp(app).ok()) continue;
    if (app.name.empty()) app.name = app.public_key;
    apps_[app.public_key] = std::move(app);
  }
  growers_.clear();
  for (const auto& [user, password] : options_.growers) {
    if (!user.empty()) growers_[user] = password;
  }
  pending_.clear();
  codes_.clear();
  access_tokens_.clear();
  refresh_tokens_.clear();
  last_authorize_.reset();
  fault_.reset();
  stats_ = AgFinitiStats();
}

void AgFinitiStore::PruneLocked(absl::Time now) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    it = it->second.expires <= now ? pending_.erase(it) : std::next(it);
  }
  for (auto it = codes_.begin(); it != codes_.end();) {
    it = it->second.expires <= now ? codes_.erase(it) : std::next(it);
  }
}

}  // namespace agfiniti
}  // namespace leafemu
