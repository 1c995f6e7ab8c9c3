// PKCE (RFC 7636) as AgFiniti's emulator checks it: S256 only, since a
// client that can hash has no reason to send "plain".
#ifndef EMULATOR_AGFINITI_PKCE_H_
#define EMULATOR_AGFINITI_PKCE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace leafemu {
namespace agfiniti {

// 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1, §4.2): the shape of
// both a code_verifier and an S256 code_challenge.
bool IsPkceString(absl::string_view s);
// BASE64URL(SHA256(ASCII(verifier))) without padding (RFC 7636 §4.2).
std::string S256Challenge(absl::string_view verifier);
// Whether `verifier` is well-formed and hashes to `challenge`, compared in
// constant time.
bool VerifyS256(absl::string_view verifier, absl::string_view challenge);

}  // namespace agfiniti
}  // namespace leafemu

#endif  // EMULATOR_AGFINITI_PKCE_H_
