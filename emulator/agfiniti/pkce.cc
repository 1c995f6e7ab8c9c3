#include "emulator/agfiniti/pkce.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "absl/strings/ascii.h"

namespace leafemu {
namespace agfiniti {

bool IsPkceString(absl::string_view s) {
  if (s.size() < 43 || s.size() > 128) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_' &&
        c != '~') {
      return false;
    }
  }
  return true;
}

std::string S256Challenge(absl::string_view verifier) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size(), digest);
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned int buffer = 0;
  int bits = 0;
  for (unsigned char byte : digest) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 63]);
  return out;
}

bool VerifyS256(absl::string_view verifier, absl::string_view challenge) {
  if (!IsPkceString(verifier)) return false;
  const std::string computed = S256Challenge(verifier);
  return computed.size() == challenge.size() &&
         CRYPTO_memcmp(computed.data(), challenge.data(), computed.size()) == 0;
}

}  // namespace agfiniti
}  // namespace leafemu
