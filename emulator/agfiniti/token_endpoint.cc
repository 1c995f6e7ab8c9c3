#include "emulator/agfiniti/token_endpoint.h"

#include <map>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "emulator/agfiniti/form.h"
#include "emulator/json.h"

namespace leafemu {
namespace agfiniti {
namespace {

void NoStore(httplib::Response& res) {
  res.set_header("Cache-Control", "no-store");
  res.set_header("Pragma", "no-cache");
}

void SendTokenError(httplib::Response& res, TokenError error, const std::string& description) {
  // RFC 6749 §5.2: 401 with a challenge for a failed client authentication.
  res.status = error == TokenError::kInvalidClient ? 401 : 400;
  if (error == TokenError::kInvalidClient) {
    res.set_header("WWW-Authenticate", "Basic realm=\"agfiniti\"");
  }
  NoStore(res);
  res.set_content(absl::StrCat("{\"error\":\"", TokenErrorName(error),
                               "\",\"error_description\":", JsonQuote(description), "}"),
                  "application/json;charset=UTF-8");
}

void SendGrant(httplib::Response& res, const TokenGrant& g) {
  res.status = 200;
  NoStore(res);
  res.set_content(absl::StrCat("{\"access_token\":", JsonQuote(g.access_token),
                               ",\"token_type\":\"bearer\",\"expires_in\":", g.expires_in,
                               ",\"refresh_token\":", JsonQuote(g.refresh_token),
                               ",\"scope\":", JsonQuote(g.scope), "}"),
                  "application/json;charset=UTF-8");
}

std::optional<std::string> Param(const std::map<std::string, std::string>& form,
                                 const std::string& name) {
  auto it = form.find(name);
  if (it == form.end()) return std::nullopt;
  return it->second;
}

// The answer to a well-formed request.
void Answer(AgFinitiStore& store, const TokenEndpointHooks& hooks, const httplib::Request& req,
            httplib::Response& res) {
  if (req.method != "POST") {
    res.set_header("Allow", "POST");
    SendTokenError(res, TokenError::kInvalidRequest, "the token endpoint takes POST");
    res.status = 405;
    return;
  }
  if (req.body.size() > kMaxTokenBodyBytes) {
    SendTokenError(res, TokenError::kInvalidRequest, "request body too large");
    return;
  }
  if (!absl::StartsWith(absl::AsciiStrToLower(req.get_header_value("Content-Type")),
                        "application/x-www-form-urlencoded")) {
    SendTokenError(res, TokenError::kInvalidRequest,
                   "expected Content-Type: application/x-www-form-urlencoded");
    return;
  }
  std::optional<std::map<std::string, std::string>> form = ParseForm(req.body);
  if (!form) {
    SendTokenError(res, TokenError::kInvalidRequest,
                   "malformed form body, or a repeated parameter");
    return;
  }
  // Client authentication: exactly one method (RFC 6749 §2.3).
  std::optional<std::string> body_id = Param(*form, "client_id");
  std::optional<std::string> body_secret = Param(*form, "client_secret");
  std::string client_id;
  std::string secret;
  if (req.has_header("Authorization")) {
    if (body_secret) {
      SendTokenError(res, TokenError::kInvalidRequest,
                     "use one client authentication method, not two");
      return;
    }
    auto basic = ParseBasicAuth(req.get_header_value("Authorization"));
    if (!basic) {
      SendTokenError(res, TokenError::kInvalidClient, "malformed Basic authorization");
      return;
    }
    client_id = basic->first;
    secret = basic->second;
    if (body_id && *body_id != client_id) {
      SendTokenError(res, TokenError::kInvalidRequest, "client_id does not match Basic auth");
      return;
    }
  } else if (body_id && body_secret) {
    client_id = *body_id;
    secret = *body_secret;
  } else {
    SendTokenError(res, TokenError::kInvalidClient, "client authentication is required");
    return;
  }
  if (!store.CheckClient(client_id, secret)) {
    SendTokenError(res, TokenError::kInvalidClient, "client authentication failed");
    return;
  }
  std::optional<std::string> grant_type = Param(*form, "grant_type");
  TokenResult result;
  if (!grant_type || grant_type->empty()) {
    SendTokenError(res, TokenError::kInvalidRequest, "grant_type is required");
    return;
  } else if (*grant_type == "authorization_code") {
    std::optional<std::string> code = Param(*form, "code");
    std::optional<std::string> redirect_uri = Param(*form, "redirect_uri");
    if (!code || code->empty() || !redirect_uri) {
      SendTokenError(res, TokenError::kInvalidRequest, "code and redirect_uri are required");
      return;
    }
    result = store.RedeemCode(client_id, *code, *redirect_uri, Param(*form, "code_verifier"));
  } else if (*grant_type == "refresh_token") {
    std::optional<std::string> refresh = Param(*form, "refresh_token");
    if (!refresh || refresh->empty()) {
      SendTokenError(res, TokenError::kInvalidRequest, "refresh_token is required");
      return;
    }
    result = store.Refresh(client_id, *refresh, Param(*form, "scope"));
  } else {
    SendTokenError(res, TokenError::kUnsupportedGrantType,
                   "grant_type must be authorization_code or refresh_token");
    return;
  }
  if (!result.revoked_refresh_tokens.empty() && hooks.on_revoked) {
    hooks.on_revoked(result.revoked_refresh_tokens);
  }
  if (result.grant) {
    SendGrant(res, *result.grant);
  } else {
    SendTokenError(res, result.error, result.description);
  }
}

}  // namespace

void ServeToken(AgFinitiStore& store, const TokenEndpointHooks& hooks, const httplib::Request& req,
                httplib::Response& res) {
  store.CountTokenRequest();
  if (std::optional<TokenFault> fault = store.TakeTokenFault()) {
    if (fault->delay > absl::ZeroDuration() && hooks.sleep && !hooks.sleep(fault->delay)) {
      res.status = 503;
      return;
    }
    if (fault->status != 0) {
      res.status = fault->status;
      NoStore(res);
      res.set_content(fault->body.empty()
                          ? std::string("{\"error\":\"server_error\",\"error_description\":"
                                        "\"injected fault\"}")
                          : fault->body,
                      "application/json;charset=UTF-8");
      return;
    }
  }
  Answer(store, hooks, req, res);
}

}  // namespace agfiniti
}  // namespace leafemu
