// Routing Leaf-style: a table of (method, path pattern) routes where a
// `{name}` segment captures a path parameter. A path no route matches is a
// 404, a method no matching route takes is a 405 with Allow, and every answer
// is problem+json. Routes under the API prefix are served only after the
// Bearer check passes (Leaf checks the token before it looks at the route);
// parameters can be validated once for every route that captures them.
#ifndef EMULATOR_ROUTER_H_
#define EMULATOR_ROUTER_H_

#include <httplib.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "emulator/problem.h"

namespace leafemu {

// A request matched to a route, with the values of its `{name}` segments.
struct RouteRequest {
  const httplib::Request& http;
  std::map<std::string, std::string> params;
  const std::string& param(const std::string& name) const { return params.at(name); }
};

class Router {
 public:
  using Handler = std::function<void(const RouteRequest&, httplib::Response&)>;
  // A problem to answer instead of serving the route, or nullopt.
  using ParamCheck = std::function<std::optional<Problem>(const std::string& value)>;
  // OK, or the reason for the 401.
  using AuthCheck = std::function<absl::Status(const httplib::Request&)>;

  Router(std::string api_prefix, AuthCheck auth_check);

  // A route outside the API prefix, served without the Bearer check;
  // `pattern` is the full path.
  void AddPublic(const std::string& method, const std::string& pattern, Handler handler);
  // A route under the API prefix; `pattern` is relative to it, e.g.
  // "/users/{leafUserId}/testland-credentials". Allow lists methods in the
  // order they are added.
  void AddApi(const std::string& method, const std::string& pattern, Handler handler);
  // Validates `{name}` before any route capturing it is served.
  void AddParamCheck(const std::string& name, ParamCheck check);

  void Handle(const httplib::Request& req, httplib::Response& res) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // pattern split at '/'
    Handler handler;
  };
  // Serves `req` from `routes` if one of their patterns matches `path`;
  // false when none does.
  bool Dispatch(const std::vector<Route>& routes, const std::string& path,
                const httplib::Request& req, httplib::Response& res) const;

  const std::string api_prefix_;
  const AuthCheck auth_check_;
  std::vector<Route> public_routes_;
  std::vector<Route> api_routes_;
  std::map<std::string, ParamCheck> param_checks_;
};

}  // namespace leafemu

#endif  // EMULATOR_ROUTER_H_
