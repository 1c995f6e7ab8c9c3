// POST /api/authenticate: {"username","password","rememberMe"} -> an HS512
// JWT in {"id_token"} and in the Authorization header. Any failure, even a
// malformed body, is Leaf's 401 "Bad credentials".
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "emulator/json.h"
#include "emulator/paths.h"
#include "emulator/routes.h"

namespace leafemu {
namespace {

void Login(Auth& auth, const RouteRequest& req, httplib::Response& res) {
  Problem bad;
  bad.status = 401;
  bad.detail = "Bad credentials";
  rapidjson::Document doc;
  if (!ParseObject(req.http.body, doc)) {
    SendProblem(req.http, res, bad);
    return;
  }
  auto username = StringMember(doc, "username");
  auto password = StringMember(doc, "password");
  bool remember_me = BoolMember(doc, "rememberMe").value_or(false);
  std::optional<std::string> token;
  if (username && password) token = auth.Login(*username, *password, remember_me);
  if (!token) {
    SendProblem(req.http, res, bad);
    return;
  }
  res.set_header("Authorization", absl::StrCat("Bearer ", *token));
  SendJson(res, 200, absl::StrCat("{\"id_token\":", JsonQuote(*token), "}"));
}

}  // namespace

void RegisterLoginRoutes(Router& router, const LeafApiContext& ctx) {
  Auth& auth = ctx.auth;
  router.AddPublic(
      "POST", std::string(kLoginPath),
      [&auth](const RouteRequest& req, httplib::Response& res) { Login(auth, req, res); });
}

}  // namespace leafemu
