// Leaf's REST API as routes on a Router: one Register*Routes function per
// resource, each in its own routes_<resource>.cc. A new resource is a new
// file, its declaration here and one line in MakeLeafRouter (routes.cc).
#ifndef EMULATOR_ROUTES_H_
#define EMULATOR_ROUTES_H_

#include <memory>

#include "emulator/agfiniti/oauth_store.h"
#include "emulator/alert_sender.h"
#include "emulator/auth.h"
#include "emulator/router.h"
#include "emulator/store.h"
#include "emulator/types.h"
#include "emulator/webhooks.h"

namespace leafemu {

// What Leaf's route handlers work with; it outlives the router.
struct LeafApiContext {
  const EmulatorOptions& options;
  Store& store;
  Auth& auth;
  WebhookStore& webhooks;
  AlertSender& alerts;
  // Checks posted refresh tokens when it has growers.
  const agfiniti::AgFinitiStore& agfiniti;
};

// POST /api/authenticate (routes_login.cc).
void RegisterLoginRoutes(Router& router, const LeafApiContext& ctx);
// GET, POST, DELETE /users/{leafUserId}/{provider path segment}
// (routes_credentials.cc), for ctx.options.provider.
void RegisterCredentialRoutes(Router& router, const LeafApiContext& ctx);
// GET /users/{leafUserId}/{provider path segment}/events (routes_events.cc).
void RegisterEventRoutes(Router& router, const LeafApiContext& ctx);
// /services/alerts/api/alerts/webhooks[/{id}] (routes_alerts.cc).
void RegisterAlertRoutes(Router& router, const LeafApiContext& ctx);

// GET /users?page=&size= (routes_users.cc).
void RegisterUserRoutes(Router& router, const LeafApiContext& ctx);

// All of Leaf's routes, behind the Bearer check of `ctx.auth`, with
// {leafUserId} checked to be UUID-shaped and, when options.known_users is
// set, one of them.
std::unique_ptr<Router> MakeLeafRouter(const LeafApiContext& ctx);

}  // namespace leafemu

#endif  // EMULATOR_ROUTES_H_
