// GET /users/{leafUserId}/ag-leader-credentials/events: the user's AgLeader
// exchanges, newest first, with X-Total-Count.
#include <string>
#include <vector>

#include "emulator/leaf_json.h"
#include "emulator/routes.h"

namespace leafemu {
namespace {

void GetEvents(const LeafApiContext& ctx, const RouteRequest& req, httplib::Response& res) {
  const std::string& user = req.param("leafUserId");
  std::optional<std::vector<StoredEvent>> events = ctx.store.Events(user);
  if (!events) {
    SendProblem(req.http, res, CredentialsNotFound(user));
    return;
  }
  res.set_header("X-Total-Count", std::to_string(events->size()));
  SendJson(res, 200, EventsJson(*events));
}

}  // namespace

void RegisterEventRoutes(Router& router, const LeafApiContext& ctx) {
  router.AddApi(
      "GET", "/users/{leafUserId}/ag-leader-credentials/events",
      [ctx](const RouteRequest& req, httplib::Response& res) { GetEvents(ctx, req, res); });
}

}  // namespace leafemu
