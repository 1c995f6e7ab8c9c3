// Who may call Leaf: the login accounts, the static Bearer tokens, the key
// that signs login tokens (rotating it revokes them) and the Bearer check.
// Thread-safe behind its own lock.
#ifndef EMULATOR_AUTH_H_
#define EMULATOR_AUTH_H_

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "emulator/types.h"

namespace leafemu {

class Auth {
 public:
  // Takes the accounts, static tokens and token lifetimes from `options`.
  explicit Auth(const EmulatorOptions& options);

  // A token for a matching account (lifetime per `remember_me`), counted as
  // a login; nullopt for an unknown account or a wrong password.
  std::optional<std::string> Login(const std::string& username, const std::string& password,
                                   bool remember_me);
  std::string IssueToken(const std::string& username, absl::Duration lifetime) const;
  // The Bearer check of an Authorization header (nullopt: absent). OK for a
  // static token or a live token signed with the current key; otherwise
  // UnauthenticatedError with the 401's detail.
  absl::Status CheckAuthorization(std::optional<absl::string_view> header) const;
  // Rotates the signing key: every token issued so far stops working
  // (static tokens are unaffected).
  void RevokeAllTokens();
  int LoginCount() const;
  void ResetLoginCount();

 private:
  std::string Key() const;

  const std::map<std::string, std::string> accounts_;
  const std::vector<std::string> static_tokens_;
  const absl::Duration token_lifetime_;
  const absl::Duration remember_me_token_lifetime_;
  mutable std::mutex mu_;
  std::string jwt_key_;
  int login_count_ = 0;
};

}  // namespace leafemu

#endif  // EMULATOR_AUTH_H_
