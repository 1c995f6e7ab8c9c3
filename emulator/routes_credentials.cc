// /users/{leafUserId}/ag-leader-credentials: GET the stored credentials, POST
// new ones (validated like Leaf's bean validation, checked against AgLeader
// by the refresh token's look, then stored with the exchange's event), and
// DELETE them with their events.
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "emulator/agleader_events.h"
#include "emulator/ids.h"
#include "emulator/json.h"
#include "emulator/leaf_json.h"
#include "emulator/routes.h"

namespace leafemu {
namespace {

constexpr char kPattern[] = "/users/{leafUserId}/ag-leader-credentials";

void GetCredentials(const LeafApiContext& ctx, const RouteRequest& req, httplib::Response& res) {
  const std::string& user = req.param("leafUserId");
  std::optional<StoredCredentials> c = ctx.store.Get(user);
  if (!c) {
    SendProblem(req.http, res, CredentialsNotFound(user));
    return;
  }
  SendJson(res, 200, CredentialsJson(*c));
}

// The credentials in a POST body, or the 400 that refuses them.
std::optional<StoredCredentials> ParseCreateBody(const std::string& body, Problem& invalid) {
  static constexpr const char* kRequired[] = {"refreshToken", "publicKey", "privateKey"};
  invalid.status = 400;
  rapidjson::Document doc;
  if (!ParseObject(body, doc)) {
    invalid.detail = "Malformed JSON request body";
    for (const char* f : kRequired) {
      invalid.field_errors.push_back({"agLeaderCredentials", f, "NotNull"});
    }
    return std::nullopt;
  }
  StoredCredentials c;
  std::string* targets[] = {&c.refresh_token, &c.public_key, &c.private_key};
  for (size_t i = 0; i < 3; ++i) {
    auto v = StringMember(doc, kRequired[i]);
    if (!v) {
      invalid.field_errors.push_back({"agLeaderCredentials", kRequired[i], "NotNull"});
    } else if (v->empty()) {
      invalid.field_errors.push_back({"agLeaderCredentials", kRequired[i], "NotBlank"});
    } else {
      *targets[i] = *v;
    }
  }
  auto access = doc.FindMember("accessToken");
  if (access != doc.MemberEnd() && !access->value.IsNull()) {
    if (access->value.IsString()) {
      c.access_token = access->value.GetString();
    } else {
      invalid.field_errors.push_back({"agLeaderCredentials", "accessToken", "TypeMismatch"});
    }
  }
  if (!invalid.field_errors.empty()) {
    invalid.title = "Method argument not valid";
    invalid.message = "error.validation";
    return std::nullopt;
  }
  return c;
}

Problem AlreadyExists(const std::string& user, int status) {
  Problem p;
  p.status = status;
  if (status == 400) {
    p.title = "AgLeader credentials already exist for this user";
    p.message = "error.credentialsalreadyexist";
  }
  p.detail = absl::StrCat("User ", user, " already has AgLeader credentials");
  p.error_key = "credentialsalreadyexist";
  return p;
}

void CreateCredentials(const LeafApiContext& ctx, const RouteRequest& req, httplib::Response& res) {
  const std::string& user = req.param("leafUserId");
  Problem invalid;
  std::optional<StoredCredentials> c = ParseCreateBody(req.http.body, invalid);
  if (!c) {
    SendProblem(req.http, res, invalid);
    return;
  }
  // AgLeader refuses such a refresh token; by default Leaf stores it anyway.
  bool bad_refresh_token = absl::StartsWith(c->refresh_token, "invalid");
  if (bad_refresh_token && ctx.options.reject_invalid_refresh_token) {
    Problem p;
    p.status = 400;
    p.title = "Invalid AgLeader credentials";
    p.detail = "AgLeader refused the refresh token (invalid_grant)";
    p.message = "error.invalidrefreshtoken";
    p.error_key = "invalidrefreshtoken";
    SendProblem(req.http, res, p);
    return;
  }
  c->id = NewUuidV4();
  c->created_time = NowTimestamp();
  c->status = bad_refresh_token ? "UNAUTHENTICATED" : "OK";
  switch (ctx.store.Create(user, *c, bad_refresh_token ? UnauthenticatedEvent() : OkEvent())) {
    case Store::CreateOutcome::kCreated:
      SendJson(res, 201, CredentialsJson(*c));
      return;
    case Store::CreateOutcome::kRefusedBadRequest:
      SendProblem(req.http, res, AlreadyExists(user, 400));
      return;
    case Store::CreateOutcome::kRefusedConflict:
      SendProblem(req.http, res, AlreadyExists(user, 409));
      return;
  }
}

void DeleteCredentials(const LeafApiContext& ctx, const RouteRequest& req, httplib::Response& res) {
  const std::string& user = req.param("leafUserId");
  if (!ctx.store.Erase(user)) {
    SendProblem(req.http, res, CredentialsNotFound(user));
    return;
  }
  res.status = 204;
}

}  // namespace

void RegisterCredentialRoutes(Router& router, const LeafApiContext& ctx) {
  // Registered in the order Allow lists them.
  router.AddApi("GET", kPattern, [ctx](const RouteRequest& req, httplib::Response& res) {
    GetCredentials(ctx, req, res);
  });
  router.AddApi("POST", kPattern, [ctx](const RouteRequest& req, httplib::Response& res) {
    CreateCredentials(ctx, req, res);
  });
  router.AddApi("DELETE", kPattern, [ctx](const RouteRequest& req, httplib::Response& res) {
    DeleteCredentials(ctx, req, res);
  });
}

}  // namespace leafemu
