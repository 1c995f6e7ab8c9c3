// Which API owner a request to Leaf's API counts against for the request
// limit (rate_limit.h). Leaf limits each API owner, the account its tokens
// belong to: a login counts against the account it names, a Bearer token
// against the account it was issued to. The emulator's static tokens all
// stand for one owner. The token is read, not verified (the Bearer check
// is the router's job): an expired or revoked token still names its owner,
// so that every request a client sends is counted. A request that names no
// one counts against one anonymous owner.
#ifndef EMULATOR_API_OWNER_H_
#define EMULATOR_API_OWNER_H_

#include <httplib.h>

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace leafemu {

// The owner keys: distinct prefixes so that no account name can collide
// with the static or anonymous owner.
inline constexpr absl::string_view kAccountOwnerPrefix = "account:";
inline constexpr absl::string_view kStaticTokenOwner = "static-tokens";
inline constexpr absl::string_view kAnonymousOwner = "anonymous";

// The owner key of `req` (a request outside the control API).
std::string ApiOwnerOf(const httplib::Request& req, const std::vector<std::string>& static_tokens);

}  // namespace leafemu

#endif  // EMULATOR_API_OWNER_H_
