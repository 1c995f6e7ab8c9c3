// AgFiniti on the emulator's server: every path under /agfiniti/ (paths
// compare case-insensitively, as AgFiniti's ASP.NET site does).
//   GET  /agfiniti/Account/Authorize   authorize_flow.h
//   POST /agfiniti/Account/SignIn      authorize_flow.h
//   POST /agfiniti/Account/Consent     authorize_flow.h
//   POST /agfiniti/api/token           token_endpoint.h
#ifndef EMULATOR_AGFINITI_SERVICE_H_
#define EMULATOR_AGFINITI_SERVICE_H_

#include <httplib.h>

#include "absl/strings/string_view.h"
#include "emulator/agfiniti/oauth_store.h"
#include "emulator/agfiniti/token_endpoint.h"

namespace leafemu {
namespace agfiniti {

inline constexpr absl::string_view kAgFinitiPrefix = "/agfiniti/";

bool IsAgFinitiPath(absl::string_view path);
// Serves one request under kAgFinitiPrefix; unknown paths get a 404 page,
// a known path with another method a 405.
void ServeAgFiniti(AgFinitiStore& store, const TokenEndpointHooks& hooks,
                   const httplib::Request& req, httplib::Response& res);

}  // namespace agfiniti
}  // namespace leafemu

#endif  // EMULATOR_AGFINITI_SERVICE_H_
