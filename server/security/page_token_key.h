// The key that signs ListCredentialEvents page tokens. Without a configured
// key each process draws its own at random: a public default would let anyone
// forge cursors, and a random one only costs that a token from one replica is
// refused by another (the caller starts the listing over).
#ifndef SERVER_SECURITY_PAGE_TOKEN_KEY_H_
#define SERVER_SECURITY_PAGE_TOKEN_KEY_H_

#include <string>

#include "absl/status/statusor.h"

namespace leafsvc {

// Bytes drawn when no key is configured (HMAC-SHA256's block is 64).
inline constexpr int kRandomPageTokenKeyBytes = 32;

// `configured` when not empty. Otherwise kRandomPageTokenKeyBytes from
// RAND_bytes, with a warning log line that replicas behind one load balancer
// must share a --page_token_key; INTERNAL when the random generator fails.
absl::StatusOr<std::string> PageTokenKeyOrRandom(const std::string& configured);

}  // namespace leafsvc

#endif  // SERVER_SECURITY_PAGE_TOKEN_KEY_H_
