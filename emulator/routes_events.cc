// GET /users/{leafUserId}/{provider}-credentials/events: the user's
// provider exchanges, newest first, with X-Total-Count.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "emulator/leaf_json.h"
#include "emulator/routes.h"

namespace leafemu {
namespace {

void GetEvents(const LeafApiContext& ctx, const RouteRequest& req, httplib::Response& res) {
  const std::string& user = req.param("leafUserId");
  std::optional<std::vector<StoredEvent>> events = ctx.store.Events(user);
  if (!events) {
    SendProblem(req.http, res, CredentialsNotFound(user, ctx.options.provider->display_name));
    return;
  }
  res.set_header("X-Total-Count", std::to_string(events->size()));
  SendJson(res, 200, EventsJson(*events));
}

}  // namespace

void RegisterEventRoutes(Router& router, const LeafApiContext& ctx) {
  router.AddApi(
      "GET", absl::StrCat("/users/{leafUserId}/", ctx.options.provider->path_segment, "/events"),
      [ctx](const RouteRequest& req, httplib::Response& res) { GetEvents(ctx, req, res); });
}

}  // namespace leafemu
