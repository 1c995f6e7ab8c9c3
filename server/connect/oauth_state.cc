#include "server/connect/oauth_state.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "server/secrets/secret.h"

namespace leafsvc::connect {
namespace {

std::string Sha256(absl::string_view data) {
  std::string digest(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         reinterpret_cast<unsigned char*>(&digest[0]));
  return digest;
}

size_t EncodedLength(size_t bytes) { return (bytes * 4 + 2) / 3; }

}  // namespace

absl::StatusOr<std::string> RandomToken(size_t bytes) {
  std::string raw(bytes, '\0');
  if (bytes > 0 &&
      RAND_bytes(reinterpret_cast<unsigned char*>(&raw[0]), static_cast<int>(bytes)) != 1) {
    return absl::InternalError("OpenSSL could not produce random bytes");
  }
  std::string out = absl::WebSafeBase64Escape(raw);
  WipeString(raw);
  return out;
}

absl::StatusOr<std::string> NewLinkId() { return RandomToken(kLinkIdBytes); }
absl::StatusOr<std::string> NewState() { return RandomToken(kStateBytes); }
absl::StatusOr<std::string> NewBrowserBinding() { return RandomToken(kStateBytes); }
absl::StatusOr<std::string> NewPkceVerifier() { return RandomToken(kStateBytes); }

std::string PkceChallenge(absl::string_view verifier) {
  return absl::WebSafeBase64Escape(Sha256(verifier));
}

std::string HashToken(absl::string_view token) { return absl::BytesToHexString(Sha256(token)); }

bool IsWellFormedToken(absl::string_view token, size_t bytes) {
  if (token.size() != EncodedLength(bytes)) return false;
  for (char c : token) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace leafsvc::connect
