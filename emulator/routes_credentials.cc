// /users/{leafUserId}/{provider}-credentials: GET the stored credentials,
// POST new ones (validated like Leaf's bean validation, against the
// provider's fields, checked by the provider's own rule (for AgLeader, the
// refresh token's look; ProviderSpec::emulator), then stored with the
// exchange's event), and DELETE them with their events.
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

void GetCredentials(const LeafApiContext& ctx, const RouteRequest& req, httplib::Response& res) {
  const std::string& user = req.param("leafUserId");
  std::optional<StoredCredentials> c = ctx.store.Get(user);
  if (!c) {
    SendProblem(req.http, res, CredentialsNotFound(user, ctx.options.provider->display_name));
    return;
  }
  SendJson(res, 200, CredentialsJson(*c, *ctx.options.provider));
}

// The credentials in a POST body, or the 400 that refuses them: required
// fields must be non-blank strings, the others strings or null; fields the
// provider does not have are ignored.
std::optional<StoredCredentials> ParseCreateBody(const std::string& body,
                                                 const ProviderSpec& provider, Problem& invalid) {
  // Leaf's bean validation names the provider's credentials object.
  const std::string& object = provider.user_member;
  invalid.status = 400;
  rapidjson::Document doc;
  if (!ParseObject(body, doc)) {
    invalid.detail = "Malformed JSON request body";
    for (const auto& field : provider.fields) {
      if (field.required) invalid.field_errors.push_back({object, field.json_name, "NotNull"});
    }
    return std::nullopt;
  }
  StoredCredentials c;
  for (const auto& field : provider.fields) {
    auto member = doc.FindMember(field.json_name.c_str());
    const bool absent = member == doc.MemberEnd() || member->value.IsNull();
    if (field.required) {
      auto v = StringMember(doc, field.json_name.c_str());
      if (!v) {
        invalid.field_errors.push_back({object, field.json_name, "NotNull"});
      } else if (v->empty()) {
        invalid.field_errors.push_back({object, field.json_name, "NotBlank"});
      } else {
        c.fields[field.json_name] = *v;
      }
    } else if (!absent) {
      if (member->value.IsString()) {
        c.fields[field.json_name] = member->value.GetString();
      } else {
        invalid.field_errors.push_back({object, field.json_name, "TypeMismatch"});
      }
    }
  }
  if (!invalid.field_errors.empty()) {
    invalid.title = "Method argument not valid";
    invalid.message = "error.validation";
    return std::nullopt;
  }
  return c;
}

Problem AlreadyExists(const std::string& user, int status, const std::string& provider) {
  Problem p;
  p.status = status;
  if (status == 400) {
    p.title = absl::StrCat(provider, " credentials already exist for this user");
    p.message = "error.credentialsalreadyexist";
  }
  p.detail = absl::StrCat("User ", user, " already has ", provider, " credentials");
  p.error_key = "credentialsalreadyexist";
  return p;
}

void CreateCredentials(const LeafApiContext& ctx, const RouteRequest& req, httplib::Response& res) {
  const ProviderSpec& provider = *ctx.options.provider;
  const std::string& user = req.param("leafUserId");
  Problem invalid;
  std::optional<StoredCredentials> c = ParseCreateBody(req.http.body, provider, invalid);
  if (!c) {
    SendProblem(req.http, res, invalid);
    return;
  }
  // The provider refuses such credentials; by default Leaf stores them anyway.
  // With AgFiniti playing (it has growers), the refresh token is what
  // AgFiniti would honour for the posted application; otherwise its look.
  const std::string& refused_field = provider.emulator.refused_field;
  bool refused = false;
  if (!refused_field.empty() && ctx.agfiniti.HasGrowers()) {
    refused = !ctx.agfiniti.IsLiveRefreshToken(c->Field(refused_field), c->Field("publicKey"));
  } else if (!refused_field.empty()) {
    refused = absl::StartsWith(c->Field(refused_field), "invalid");
  }
  if (refused && ctx.options.reject_invalid_refresh_token) {
    Problem p;
    p.status = 400;
    p.title = absl::StrCat("Invalid ", provider.display_name, " credentials");
    p.detail = provider.emulator.refused_detail;
    p.message = absl::StrCat("error.", provider.emulator.refused_error_key);
    p.error_key = provider.emulator.refused_error_key;
    SendProblem(req.http, res, p);
    return;
  }
  c->id = NewUuidV4();
  c->created_time = NowTimestamp();
  c->status = refused ? "UNAUTHENTICATED" : "OK";
  switch (ctx.store.Create(user, *c, refused ? UnauthenticatedEvent() : OkEvent())) {
    case Store::CreateOutcome::kCreated:
      SendJson(res, 201, CredentialsJson(*c, provider));
      return;
    case Store::CreateOutcome::kRefusedBadRequest:
      SendProblem(req.http, res, AlreadyExists(user, 400, provider.display_name));
      return;
    case Store::CreateOutcome::kRefusedConflict:
      SendProblem(req.http, res, AlreadyExists(user, 409, provider.display_name));
      return;
  }
}

void DeleteCredentials(const LeafApiContext& ctx, const RouteRequest& req, httplib::Response& res) {
  const std::string& user = req.param("leafUserId");
  if (!ctx.store.Erase(user)) {
    SendProblem(req.http, res, CredentialsNotFound(user, ctx.options.provider->display_name));
    return;
  }
  res.status = 204;
}

}  // namespace

void RegisterCredentialRoutes(Router& router, const LeafApiContext& ctx) {
  const std::string pattern =
      absl::StrCat("/users/{leafUserId}/", ctx.options.provider->path_segment);
  // Registered in the order Allow lists them.
  router.AddApi("GET", pattern, [ctx](const RouteRequest& req, httplib::Response& res) {
    GetCredentials(ctx, req, res);
  });
  router.AddApi("POST", pattern, [ctx](const RouteRequest& req, httplib::Response& res) {
    CreateCredentials(ctx, req, res);
  });
  router.AddApi("DELETE", pattern, [ctx](const RouteRequest& req, httplib::Response& res) {
    DeleteCredentials(ctx, req, res);
  });
}

}  // namespace leafemu
