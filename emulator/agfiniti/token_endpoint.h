// AgFiniti's token endpoint, POST /agfiniti/api/token (RFC 6749 §4.1.3,
// §6, §5.1, §5.2): client authentication by HTTP Basic or by
// client_id/client_secret in the form (not both), the authorization_code and
// refresh_token grants, JSON answers with Cache-Control: no-store, and the
// test fault that makes it fail or stall.
#ifndef EMULATOR_AGFINITI_TOKEN_ENDPOINT_H_
#define EMULATOR_AGFINITI_TOKEN_ENDPOINT_H_

#include <httplib.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "emulator/agfiniti/oauth_store.h"

namespace leafemu {
namespace agfiniti {

inline constexpr size_t kMaxTokenBodyBytes = 16 * 1024;

struct TokenEndpointHooks {
  // Refresh tokens a replayed code revoked (the Leaf side flips them).
  std::function<void(const std::vector<std::string>&)> on_revoked;
  // Waits for a fault's delay; false when the server is stopping.
  std::function<bool(absl::Duration)> sleep;
};

void ServeToken(AgFinitiStore& store, const TokenEndpointHooks& hooks, const httplib::Request& req,
                httplib::Response& res);

}  // namespace agfiniti
}  // namespace leafemu

#endif  // EMULATOR_AGFINITI_TOKEN_ENDPOINT_H_
