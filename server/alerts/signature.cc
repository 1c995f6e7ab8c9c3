#include "server/alerts/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace leafsvc::alerts {

std::string SignBody(absl::string_view secret, absl::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &mac_len);
  std::string out(4 * ((mac_len + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), mac, mac_len);
  out.resize(n);
  return out;
}

bool SignatureMatches(absl::string_view secret, absl::string_view body,
                      absl::string_view signature) {
  const std::string expected = SignBody(secret, body);
  // The length of a valid signature is public (44 characters); only the
  // content is compared in constant time.
  if (signature.size() != expected.size()) return false;
  return CRYPTO_memcmp(expected.data(), signature.data(), expected.size()) == 0;
}

}  // namespace leafsvc::alerts
