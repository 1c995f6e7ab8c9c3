// Leaf's login tokens: HS512 JWTs {"sub","auth":"ROLE_USER","exp"}, minted
// and verified against one key. Pure functions of their inputs.
#ifndef EMULATOR_JWT_H_
#define EMULATOR_JWT_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace leafemu {

// Unpadded base64url (RFC 4648 section 5), as JWTs use it.
std::string Base64UrlEncode(absl::string_view in);
// nullopt on a character outside the alphabet or an impossible length.
std::optional<std::string> Base64UrlDecode(absl::string_view in);
std::string HmacSha512(absl::string_view key, absl::string_view data);

// A token for `subject` expiring `lifetime` after `now`. A positive lifetime
// is honoured in full (exp rounds up to the next second); a zero or negative
// one yields a token that is already expired.
std::string MintJwt(absl::string_view key, absl::string_view subject, absl::Time now,
                    absl::Duration lifetime);
// OK when `token` is an HS512 JWT signed with `key` and unexpired at `now`;
// otherwise UnauthenticatedError whose message is the 401's detail.
absl::Status VerifyJwt(absl::string_view key, absl::string_view token, absl::Time now);

}  // namespace leafemu

#endif  // EMULATOR_JWT_H_
