// What AgFiniti's OAuth server holds: applications, grower accounts, the
// authorize requests between their sign-in and consent pages, codes, and the
// access and refresh tokens issued from them. Every rule of the flow that is
// about state lives here (codes single-use and bound to client, redirect URI,
// grower, scopes and PKCE challenge; a replayed code revokes what it issued;
// revoking a grower kills its refresh tokens), so the pages and the token
// endpoint only parse and answer. Thread-safe behind one lock.
#ifndef EMULATOR_AGFINITI_OAUTH_STORE_H_
#define EMULATOR_AGFINITI_OAUTH_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "emulator/types.h"

namespace leafemu {
namespace agfiniti {

// The scopes AgFiniti knows.
bool IsKnownScope(const std::string& scope);

// The query of one GET /Account/Authorize, as received (for tests that
// assert what a client sent).
struct AuthorizeParams {
  std::string response_type;
  std::string client_id;
  std::string redirect_uri;
  std::string scope;
  std::string state;
  std::string code_challenge;
  std::string code_challenge_method;
};

// An authorize request that passed its checks, waiting for sign-in and
// consent.
struct PendingAuthorization {
  std::string client_id;
  std::string app_name;
  std::string redirect_uri;
  std::vector<std::string> scopes;
  std::string state;
  std::string code_challenge;  // S256; empty: no PKCE
  std::string grower;          // set once signed in
};

// Where the grower's browser goes after the consent page.
struct ConsentResult {
  std::string redirect_uri;
  std::string state;
  std::optional<std::string> code;  // nullopt: denied
};

// RFC 6749 §5.2 error codes.
enum class TokenError {
  kInvalidRequest,
  kInvalidClient,
  kInvalidGrant,
  kUnsupportedGrantType,
  kInvalidScope,
};
const char* TokenErrorName(TokenError e);

struct TokenGrant {
  std::string access_token;
  std::string refresh_token;
  std::string scope;  // space-separated
  int64_t expires_in = 0;
};

struct TokenResult {
  std::optional<TokenGrant> grant;  // set on success
  TokenError error = TokenError::kInvalidGrant;
  std::string description;
  // Refresh tokens this call revoked (a replayed code), for the Leaf side.
  std::vector<std::string> revoked_refresh_tokens;
};

// A misbehaviour of the token endpoint for the next `times` requests (-1:
// until cleared): wait `delay`, then answer `status` (0: answer normally
// after the delay) with `body` (default: a server_error JSON).
struct TokenFault {
  int status = 500;
  std::string body;
  absl::Duration delay = absl::ZeroDuration();
  int times = 1;
};

// Counters for tests; never a secret value.
struct AgFinitiStats {
  int apps = 0;
  int growers = 0;
  int authorize_requests = 0;
  int pending_authorizations = 0;
  int sign_in_failures = 0;
  int consents_allowed = 0;
  int consents_denied = 0;
  int codes_issued = 0;
  int codes_redeemed = 0;
  int code_replays = 0;
  int token_requests = 0;
  int access_tokens_issued = 0;
  int refresh_tokens_issued = 0;
  int refresh_tokens_live = 0;
  int refresh_tokens_revoked = 0;
  int token_faults_served = 0;
};

class AgFinitiStore {
 public:
  using Clock = std::function<absl::Time()>;
  // Wrong passwords one authorize request tolerates before it is dropped.
  static constexpr int kMaxSignInFailures = 5;
  // Authorize requests kept at once; past it the oldest are dropped.
  static constexpr size_t kMaxPending = 10000;

  // Starts with `options`' applications and growers (invalid ones are
  // skipped; Validate() them first to refuse them).
  explicit AgFinitiStore(AgFinitiOptions options, Clock clock = absl::Now);

  // OK, or why `app` cannot be registered (empty keys, a redirect URI that is
  // not an absolute http(s) URI without fragment).
  static absl::Status ValidateApp(const AgFinitiApp& app);
  static absl::Status ValidateOptions(const AgFinitiOptions& options);

  // Adds or replaces (by public key) an application.
  absl::Status AddApp(AgFinitiApp app);
  // Adds or replaces a grower account.
  absl::Status AddGrower(const std::string& username, const std::string& password);
  bool HasGrowers() const;
  std::optional<AgFinitiApp> App(const std::string& client_id) const;
  // The client authenticates with these keys (compared in constant time).
  bool CheckClient(const std::string& client_id, const std::string& secret) const;

  // The authorize flow.
  void RecordAuthorize(AuthorizeParams params);
  std::optional<AuthorizeParams> LastAuthorize() const;
  // Stores `p` and returns the unguessable id its sign-in page carries.
  std::string BeginAuthorization(PendingAuthorization p);
  // The live request `id` names (not yet signed in), or nullopt.
  std::optional<PendingAuthorization> PendingSignIn(const std::string& id) const;
  enum class SignInOutcome { kSignedIn, kWrongPassword, kTooManyFailures, kUnknownRequest };
  // Checks the grower's password for request `id`. Signed in: the request
  // moves to a new id (`consent_id`), so the sign-in page's id cannot
  // consent. Too many failures drop the request.
  SignInOutcome SignIn(const std::string& id, const std::string& username,
                       const std::string& password, std::string* consent_id);
  // The signed-in request `consent_id` names, or nullopt.
  std::optional<PendingAuthorization> PendingConsent(const std::string& consent_id) const;
  // Ends request `consent_id` (single-use) with the grower's decision,
  // issuing a code when allowed; nullopt for an unknown or expired id.
  std::optional<ConsentResult> Consent(const std::string& consent_id, bool allow);

  // The token endpoint, for an authenticated client.
  TokenResult RedeemCode(const std::string& client_id, const std::string& code,
                         const std::string& redirect_uri,
                         const std::optional<std::string>& code_verifier);
  TokenResult Refresh(const std::string& client_id, const std::string& refresh_token,
                      const std::optional<std::string>& scope);
  void CountTokenRequest();

  // Whether AgFiniti would honour `refresh_token` (issued, not revoked) for
  // the application `public_key` (empty: any).
  bool IsLiveRefreshToken(const std::string& refresh_token, const std::string& public_key) const;
  // Revokes every token issued to `username`; returns the refresh tokens
  // that were live until now.
  std::vector<std::string> RevokeGrower(const std::string& username);
  // Issues a refresh token directly (tests that start from "credentials
  // OK"); fails for an unknown grower or application.
  absl::StatusOr<std::string> IssueRefreshToken(const std::string& username,
                                                const std::string& client_id,
                                                const std::string& scope);

  void SetTokenFault(TokenFault fault);
  void ClearTokenFault();
  // The fault to apply to this token request, counting it down.
  std::optional<TokenFault> TakeTokenFault();

  AgFinitiStats Stats() const;
  // Back to the configured applications and growers; forgets requests,
  // codes, tokens, faults and counters.
  void Reset();

 private:
  struct Pending {
    PendingAuthorization auth;
    absl::Time expires;
    bool signed_in = false;
    int failures = 0;
  };
  struct Code {
    PendingAuthorization auth;
    absl::Time expires;
    bool redeemed = false;
    std::vector<std::string> access_tokens;
    std::vector<std::string> refresh_tokens;
  };
  struct Token {
    std::string client_id;
    std::string grower;
    std::string scope;
    absl::Time expires = absl::InfiniteFuture();
    bool revoked = false;
  };

  void ResetLocked();
  void PruneLocked(absl::Time now);
  TokenGrant IssueLocked(const std::string& client_id, const std::string& grower,
                         const std::string& scope, absl::Time now,
                         std::vector<std::string>* access_out,
                         std::vector<std::string>* refresh_out);

  const AgFinitiOptions options_;
  const Clock clock_;
  mutable std::mutex mu_;
  std::map<std::string, AgFinitiApp> apps_;     // by public key
  std::map<std::string, std::string> growers_;  // username -> password
  std::map<std::string, Pending> pending_;      // by sign-in or consent id
  std::map<std::string, Code> codes_;           // by code
  std::map<std::string, Token> access_tokens_;
  std::map<std::string, Token> refresh_tokens_;
  std::optional<AuthorizeParams> last_authorize_;
  std::optional<TokenFault> fault_;
  AgFinitiStats stats_;
};

}  // namespace agfiniti
}  // namespace leafemu

#endif  // EMULATOR_AGFINITI_OAUTH_STORE_H_
