// GET /users: the API owner's Leaf users, paged by `page` (from 0) and
// `size` (Spring's defaults: 0 and 20; at most 2000), with X-Total-Count,
// each user with the provider's embedded credentials (ProviderSpec's
// user_member; secrets echoed, as Leaf does) or null.
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "emulator/json.h"
#include "emulator/leaf_json.h"
#include "emulator/routes.h"

namespace leafemu {
namespace {

constexpr int64_t kDefaultSize = 20;
constexpr int64_t kMaxSize = 2000;

// The query parameter `name` as a non-negative integer (`fallback` when
// absent), or nullopt when it is not one.
std::optional<int64_t> QueryInt(const httplib::Request& req, const char* name, int64_t fallback) {
  if (!req.has_param(name)) return fallback;
  int64_t v = 0;
  if (!absl::SimpleAtoi(req.get_param_value(name), &v) || v < 0) return std::nullopt;
  return v;
}

void ListUsers(const LeafApiContext& ctx, const RouteRequest& req, httplib::Response& res) {
  std::optional<int64_t> page = QueryInt(req.http, "page", 0);
  std::optional<int64_t> size = QueryInt(req.http, "size", kDefaultSize);
  if (!page || !size || *size == 0 || *size > kMaxSize) {
    Problem p;
    p.status = 400;
    p.title = "Bad Request";
    p.detail = absl::StrCat("page must be >= 0 and size between 1 and ", kMaxSize);
    p.message = "error.http.400";
    SendProblem(req.http, res, p);
    return;
  }
  size_t total = 0;
  const auto users =
      ctx.store.ListUsers(static_cast<size_t>(*page * *size), static_cast<size_t>(*size), &total);
  const ProviderSpec& provider = *ctx.options.provider;
  // Leaf embeds every provider's credentials; one other, always null, shows
  // that readers pick theirs by name.
  const char* other = provider.user_member == "johnDeereCredentials" ? "\"climateCredentials\""
                                                                     : "\"johnDeereCredentials\"";
  std::string body = "[";
  for (const auto& [id, credentials] : users) {
    absl::StrAppend(&body, body.size() > 1 ? "," : "", "{\"id\":\"", id, "\",\"name\":\"Grower ",
                    id.substr(0, 8), "\",\"email\":null,", "\"externalId\":null,", other, ":null,",
                    JsonQuote(provider.user_member), ":",
                    credentials ? CredentialsJson(*credentials, provider) : "null", "}");
  }
  body += "]";
  res.set_header("X-Total-Count", std::to_string(total));
  SendJson(res, 200, std::move(body));
}

}  // namespace

void RegisterUserRoutes(Router& router, const LeafApiContext& ctx) {
  router.AddApi("GET", "/users", [ctx](const RouteRequest& req, httplib::Response& res) {
    ListUsers(ctx, req, res);
  });
}

}  // namespace leafemu
