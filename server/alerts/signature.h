// Leaf's webhook signature: X-Leaf-Signature is the base64 of the
// HMAC-SHA256 of the raw request body, keyed with the webhook's secret.
#ifndef SERVER_ALERTS_SIGNATURE_H_
#define SERVER_ALERTS_SIGNATURE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace leafsvc::alerts {

inline constexpr char kSignatureHeader[] = "X-Leaf-Signature";

// base64(HMAC-SHA256(secret, body)).
std::string SignBody(absl::string_view secret, absl::string_view body);

// Whether `signature` is SignBody(secret, body), compared in constant time
// (no early exit that would tell a forger how much of a guess was right).
bool SignatureMatches(absl::string_view secret, absl::string_view body,
                      absl::string_view signature);

}  // namespace leafsvc::alerts

#endif  // SERVER_ALERTS_SIGNATURE_H_
