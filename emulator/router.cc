#include "emulator/router.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace leafemu {
namespace {

bool IsParam(absl::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

std::string ParamName(absl::string_view segment) {
  return std::string(segment.substr(1, segment.size() - 2));
}

// Whether `path` fits `segments`; a parameter segment matches any segment,
// even an empty one (the parameter check then refuses it).
bool Match(const std::vector<std::string>& segments, absl::string_view path,
           std::map<std::string, std::string>* params) {
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/');
  if (parts.size() != segments.size()) return false;
  std::map<std::string, std::string> captured;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (IsParam(segments[i])) {
      captured[ParamName(segments[i])] = std::string(parts[i]);
    } else if (parts[i] != segments[i]) {
      return false;
    }
  }
  *params = std::move(captured);
  return true;
}

}  // namespace

Router::Router(std::string api_prefix, AuthCheck auth_check)
    : api_prefix_(std::move(api_prefix)), auth_check_(std::move(auth_check)) {}

void Router::AddPublic(const std::string& method, const std::string& pattern, Handler handler) {
  public_routes_.push_back({method, absl::StrSplit(pattern, '/'), std::move(handler)});
}

void Router::AddApi(const std::string& method, const std::string& pattern, Handler handler) {
  api_routes_.push_back({method, absl::StrSplit(pattern, '/'), std::move(handler)});
}

void Router::AddParamCheck(const std::string& name, ParamCheck check) {
  param_checks_[name] = std::move(check);
}

bool Router::Dispatch(const std::vector<Route>& routes, const std::string& path,
                      const httplib::Request& req, httplib::Response& res) const {
  std::vector<std::string> allowed;
  for (const Route& route : routes) {
    std::map<std::string, std::string> params;
    if (!Match(route.segments, path, &params)) continue;
    if (route.method != req.method) {
      if (std::find(allowed.begin(), allowed.end(), route.method) == allowed.end()) {
        allowed.push_back(route.method);
      }
      continue;
    }
    for (const std::string& segment : route.segments) {
      if (!IsParam(segment)) continue;
      std::string name = ParamName(segment);
      auto check = param_checks_.find(name);
      if (check == param_checks_.end()) continue;
      if (std::optional<Problem> problem = check->second(params.at(name))) {
        SendProblem(req, res, *problem);
        return true;
      }
    }
    route.handler(RouteRequest{req, std::move(params)}, res);
    return true;
  }
  if (allowed.empty()) return false;
  Problem p;
  p.status = 405;
  p.detail = absl::StrCat("Request method '", req.method, "' is not supported");
  SendProblem(req, res, p);
  res.set_header("Allow", absl::StrJoin(allowed, ", "));
  return true;
}

void Router::Handle(const httplib::Request& req, httplib::Response& res) const {
  auto not_found = [&] {
    Problem p;
    p.status = 404;
    p.detail = absl::StrCat("No endpoint ", req.method, " ", ProblemPath(req.path));
    SendProblem(req, res, p);
  };
  if (Dispatch(public_routes_, req.path, req, res)) return;
  if (!(req.path == api_prefix_ || absl::StartsWith(req.path, absl::StrCat(api_prefix_, "/")))) {
    not_found();
    return;
  }
  if (absl::Status auth = auth_check_(req); !auth.ok()) {
    Problem p;
    p.status = 401;
    p.title = "Unauthorized";
    p.detail = std::string(auth.message());
    SendProblem(req, res, p);
    return;
  }
  if (!Dispatch(api_routes_, req.path.substr(api_prefix_.size()), req, res)) not_found();
}

}  // namespace leafemu
