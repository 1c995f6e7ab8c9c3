#include "server/security/page_token_key.h"

#include <openssl/rand.h>

#include "server/observability/log.h"

namespace leafsvc {

absl::StatusOr<std::string> PageTokenKeyOrRandom(const std::string& configured) {
  if (!configured.empty()) return configured;
  std::string key(kRandomPageTokenKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), kRandomPageTokenKeyBytes) != 1) {
    return absl::InternalError(
        "could not draw a random page token key (OpenSSL RAND_bytes failed); set "
        "--page_token_key");
  }
  Log(LogLevel::kWarning,
      "no --page_token_key: this process signs page tokens with a random key of its own; "
      "replicas behind one load balancer must share one key (set AGLEADER_PAGE_TOKEN_KEY on "
      "every replica), else a next_page_token from one replica is refused by another");
  return key;
}

}  // namespace leafsvc
