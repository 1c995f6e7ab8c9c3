// The connect flow's random values and what is kept of them: link ids,
// OAuth `state` values, browser bindings and PKCE verifiers come from
// OpenSSL's CSPRNG (RAND_bytes) as base64url without padding; states and
// bindings are stored only as SHA-256 hashes, so a dump of the link store
// (memory or Redis) cannot be replayed as a callback; comparisons of
// secrets take constant time.
#ifndef SERVER_CONNECT_OAUTH_STATE_H_
#define SERVER_CONNECT_OAUTH_STATE_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace leafsvc::connect {

// 16 bytes (128 bits): link ids, 22 characters.
inline constexpr size_t kLinkIdBytes = 16;
// 32 bytes (256 bits): states, bindings and verifiers, 43 characters.
inline constexpr size_t kStateBytes = 32;

// `bytes` random bytes as base64url without padding. INTERNAL if OpenSSL
// cannot give random bytes (never expected).
absl::StatusOr<std::string> RandomToken(size_t bytes);

absl::StatusOr<std::string> NewLinkId();
absl::StatusOr<std::string> NewState();
absl::StatusOr<std::string> NewBrowserBinding();
// RFC 7636 §4.1: 43 characters of [A-Za-z0-9-._~] (base64url of 32 bytes).
absl::StatusOr<std::string> NewPkceVerifier();

// RFC 7636 §4.2, S256: base64url(SHA-256(ASCII(verifier))) without padding.
std::string PkceChallenge(absl::string_view verifier);

// SHA-256 of `token` as 64 lower-case hex digits: the key a state or a
// binding is stored under.
std::string HashToken(absl::string_view token);

// True when `token` looks like one RandomToken(bytes) made: the exact
// length and only base64url characters. Checked before anything from a
// browser is hashed or looked up.
bool IsWellFormedToken(absl::string_view token, size_t bytes);

// True when a and b are equal, in time that depends on their lengths only.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace leafsvc::connect

#endif  // SERVER_CONNECT_OAUTH_STATE_H_
