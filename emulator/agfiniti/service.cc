#include "emulator/agfiniti/service.h"

#include "absl/strings/match.h"
#include "emulator/agfiniti/authorize_flow.h"
#include "emulator/agfiniti/pages.h"

namespace leafemu {
namespace agfiniti {

bool IsAgFinitiPath(absl::string_view path) {
  return absl::StartsWithIgnoreCase(path, kAgFinitiPrefix) ||
         absl::EqualsIgnoreCase(path, "/agfiniti");
}

void ServeAgFiniti(AgFinitiStore& store, const TokenEndpointHooks& hooks,
                   const httplib::Request& req, httplib::Response& res) {
  const absl::string_view path = req.path;
  auto method_is = [&](const char* method, const char* allow) {
    if (req.method == method) return true;
    res.set_header("Allow", allow);
    SendPage(res, 405, ErrorPage("Method not allowed", "This page does not take that method."));
    return false;
  };
  if (absl::EqualsIgnoreCase(path, "/agfiniti/Account/Authorize")) {
    if (method_is("GET", "GET")) ServeAuthorize(store, req, res);
  } else if (absl::EqualsIgnoreCase(path, kSignInPath)) {
    if (method_is("POST", "POST")) ServeSignIn(store, req, res);
  } else if (absl::EqualsIgnoreCase(path, kConsentPath)) {
    if (method_is("POST", "POST")) ServeConsent(store, req, res);
  } else if (absl::EqualsIgnoreCase(path, "/agfiniti/api/token")) {
    ServeToken(store, hooks, req, res);
  } else {
    SendPage(res, 404, ErrorPage("Not found", "There is no such AgFiniti page."));
  }
}

}  // namespace agfiniti
}  // namespace leafemu
