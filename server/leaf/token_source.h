// Where the Leaf API token (the Bearer of every call) comes from: a static
// token from configuration, or a login with username + password whose token
// is cached and renewed in the background before the JWT's `exp`.
#ifndef SERVER_LEAF_TOKEN_SOURCE_H_
#define SERVER_LEAF_TOKEN_SOURCE_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/http/http_client.h"
#include "server/leaf/leaf_endpoints.h"
#include "server/leaf/login_policy.h"
#include "server/secrets/secret.h"

namespace leafsvc::leaf {

class TokenSource {
 public:
  using Callback = std::function<void(absl::StatusOr<Secret>)>;
  virtual ~TokenSource() = default;

  // Calls `done` exactly once with a token or the reason there is none;
  // inline when a token is at hand, else on a transport thread.
  virtual void GetToken(Callback done) = 0;

  // Leaf answered 401 to `token`. Returns true when a later GetToken may
  // yield a different token, i.e. when one retry is worthwhile.
  virtual bool Invalidate(const Secret& token) = 0;
};

class StaticTokenSource final : public TokenSource {
 public:
  explicit StaticTokenSource(Secret token) : token_(std::move(token)) {}
  void GetToken(Callback done) override { done(token_); }
  bool Invalidate(const Secret&) override { return false; }

 private:
  const Secret token_;
};

struct LoginOptions {
  std::string username;
  Secret password;
  // Bound on one login exchange.
  absl::Duration timeout = absl::Seconds(10);
  // When to log in (renewal, backoff, lifetimes).
  LoginPolicyOptions policy;
  // Told the outcome of every login (for metrics).
  std::function<void(bool ok)> on_login;
  // Uniform in [0, 1), for the backoff jitter; tests may fix it.
  std::function<double()> random;
};

// Logs in through POST /api/authenticate, as LoginPolicy decides: one login
// in flight for all callers, background renewal, backoff after failures.
class LoginTokenSource final : public TokenSource {
 public:
  LoginTokenSource(http::HttpClient* http, LeafEndpoints endpoints, LoginOptions options,
                   std::function<absl::Time()> clock = nullptr);

  void GetToken(Callback done) override;
  bool Invalidate(const Secret& token) override;

  // Successful logins so far (for tests and metrics).
  int login_count() const;
  // Logins started so far, successful or not.
  int login_attempts() const;

 private:
  void StartLogin();
  void OnLoginDone(absl::StatusOr<http::HttpResponse> response);

  http::HttpClient* const http_;
  const LeafEndpoints endpoints_;
  const LoginOptions options_;
  const std::function<absl::Time()> clock_;
  const std::function<double()> random_;

  mutable absl::Mutex mu_;
  LoginPolicy policy_ ABSL_GUARDED_BY(mu_);
  std::vector<Callback> waiters_ ABSL_GUARDED_BY(mu_);
  int login_count_ ABSL_GUARDED_BY(mu_) = 0;
  int login_attempts_ ABSL_GUARDED_BY(mu_) = 0;
  bool warned_lifetime_ ABSL_GUARDED_BY(mu_) = false;
};

// The `exp` claim of a JWT, if it has one and it is a number of seconds in
// years 1970-9999 (the signature is not checked: the token is Leaf's to
// verify).
std::optional<absl::Time> JwtExpiry(const Secret& jwt);

}  // namespace leafsvc::leaf

#endif  // SERVER_LEAF_TOKEN_SOURCE_H_
