#include "emulator/routes.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "emulator/ids.h"
#include "emulator/paths.h"

namespace leafemu {
namespace {

Router::ParamCheck LeafUserIdCheck(const EmulatorOptions& options) {
  std::optional<std::vector<std::string>> known;  // lower-cased
  if (options.known_users) {
    known.emplace();
    for (const std::string& id : *options.known_users) {
      known->push_back(absl::AsciiStrToLower(id));
    }
  }
  return [known](const std::string& user) -> std::optional<Problem> {
    if (!IsUuidShaped(user)) {
      Problem p;
      p.status = 400;
      p.detail = "leafUserId must be a UUID (8-4-4-4-12 hex digits)";
      p.error_key = "idinvalid";
      return p;
    }
    if (known &&
        std::find(known->begin(), known->end(), absl::AsciiStrToLower(user)) == known->end()) {
      Problem p;
      p.status = 404;
      p.title = "User not found";
      p.detail = absl::StrCat("No Leaf user with id ", user);
      p.message = "User not found";
      p.error_key = "usernotfound";
      return p;
    }
    return std::nullopt;
  };
}

}  // namespace

std::unique_ptr<Router> MakeLeafRouter(const LeafApiContext& ctx) {
  auto router = std::make_unique<Router>(
      std::string(kBasePath), [&auth = ctx.auth](const httplib::Request& req) {
        if (!req.has_header("Authorization")) return auth.CheckAuthorization(std::nullopt);
        return auth.CheckAuthorization(req.get_header_value("Authorization"));
      });
  router->AddParamCheck("leafUserId", LeafUserIdCheck(ctx.options));
  // One line per resource.
  RegisterLoginRoutes(*router, ctx);
  RegisterCredentialRoutes(*router, ctx);
  RegisterEventRoutes(*router, ctx);
  RegisterUserRoutes(*router, ctx);
  RegisterAlertRoutes(*router, ctx);
  return router;
}

}  // namespace leafemu
