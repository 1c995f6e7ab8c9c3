#include "emulator/agfiniti/authorize_flow.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "emulator/agfiniti/form.h"
#include "emulator/agfiniti/pages.h"
#include "emulator/agfiniti/pkce.h"

namespace leafemu {
namespace agfiniti {
namespace {

constexpr size_t kMaxParamBytes = 2048;

void SendError(httplib::Response& res, int status, const std::string& message) {
  SendPage(res, status, ErrorPage("Authorization error", message));
}

// RFC 6749 §4.1.2.1: an error the client learns about through its own
// redirect URI, with the request's state.
void RedirectError(httplib::Response& res, const std::string& redirect_uri,
                   const std::string& error, const std::string& description,
                   const std::string& state) {
  std::vector<std::pair<std::string, std::string>> q = {{"error", error},
                                                        {"error_description", description}};
  if (!state.empty()) q.emplace_back("state", state);
  res.status = 302;
  res.set_header("Location", AppendQuery(redirect_uri, q));
  res.set_header("Cache-Control", "no-store");
  res.set_header("Referrer-Policy", "no-referrer");
}

// The form of a POST from one of the pages, or nullopt after answering why
// not.
std::optional<std::map<std::string, std::string>> ReadForm(const httplib::Request& req,
                                                           httplib::Response& res) {
  if (req.body.size() > kMaxFormBytes) {
    SendError(res, 413, "The form is too large.");
    return std::nullopt;
  }
  if (!absl::StartsWith(req.get_header_value("Content-Type"),
                        "application/x-www-form-urlencoded")) {
    SendError(res, 400, "Expected a form (application/x-www-form-urlencoded).");
    return std::nullopt;
  }
  std::optional<std::map<std::string, std::string>> form = ParseForm(req.body);
  if (!form) SendError(res, 400, "The form could not be read.");
  return form;
}

std::string Field(const std::map<std::string, std::string>& form, const std::string& name) {
  auto it = form.find(name);
  return it == form.end() ? std::string() : it->second;
}

constexpr char kExpired[] =
    "This sign-in request is unknown or has expired. Go back to the application and start again.";

}  // namespace

void ServeAuthorize(AgFinitiStore& store, const httplib::Request& req, httplib::Response& res) {
  static const char* const kNames[] = {
      "response_type", "client_id",      "redirect_uri",         "scope",
      "state",         "code_challenge", "code_challenge_method"};
  AuthorizeParams p;
  std::string* const fields[] = {
      &p.response_type, &p.client_id,      &p.redirect_uri,         &p.scope,
      &p.state,         &p.code_challenge, &p.code_challenge_method};
  bool repeated = false;
  bool oversized = false;
  for (size_t i = 0; i < 7; ++i) {
    if (req.params.count(kNames[i]) > 1) repeated = true;
    *fields[i] = req.get_param_value(kNames[i]);
    if (fields[i]->size() > kMaxParamBytes) oversized = true;
  }
  store.RecordAuthorize(p);
  if (repeated || oversized) {
    // Which of the repeated values is the redirect URI cannot be told.
    SendError(res, 400, "The request repeats a parameter or has one that is too long.");
    return;
  }
  std::optional<AgFinitiApp> app = store.App(p.client_id);
  if (!app) {
    SendError(res, 400, "The application (client_id) is not known to AgFiniti.");
    return;
  }
  const bool registered = std::find(app->redirect_uris.begin(), app->redirect_uris.end(),
                                    p.redirect_uri) != app->redirect_uris.end();
  if (!registered) {
    SendError(res, 400, "The redirect_uri is not registered for this application.");
    return;
  }
  if (p.response_type.empty()) {
    RedirectError(res, p.redirect_uri, "invalid_request", "response_type is required", p.state);
    return;
  }
  if (p.response_type != "code") {
    RedirectError(res, p.redirect_uri, "unsupported_response_type",
                  "only response_type=code is supported", p.state);
    return;
  }
  std::vector<std::string> scopes = absl::StrSplit(p.scope, ' ', absl::SkipEmpty());
  if (scopes.empty()) {
    RedirectError(res, p.redirect_uri, "invalid_scope", "scope is required", p.state);
    return;
  }
  for (const std::string& s : scopes) {
    if (!IsKnownScope(s)) {
      RedirectError(res, p.redirect_uri, "invalid_scope", "unknown scope", p.state);
      return;
    }
  }
  if (!p.code_challenge.empty() || !p.code_challenge_method.empty()) {
    // RFC 7636 §4.4.1: S256 only; plain is the default method, so a missing
    // method is refused too.
    if (p.code_challenge_method != "S256") {
      RedirectError(res, p.redirect_uri, "invalid_request", "code_challenge_method must be S256",
                    p.state);
      return;
    }
    if (!IsPkceString(p.code_challenge)) {
      RedirectError(res, p.redirect_uri, "invalid_request", "malformed code_challenge", p.state);
      return;
    }
  }
  PendingAuthorization pending;
  pending.client_id = p.client_id;
  pending.app_name = app->name;
  pending.redirect_uri = p.redirect_uri;
  pending.scopes = std::move(scopes);
  pending.state = p.state;
  pending.code_challenge = p.code_challenge;
  const std::string id = store.BeginAuthorization(std::move(pending));
  SendPage(res, 200, SignInPage(id, app->name, ""));
}

void ServeSignIn(AgFinitiStore& store, const httplib::Request& req, httplib::Response& res) {
  std::optional<std::map<std::string, std::string>> form = ReadForm(req, res);
  if (!form) return;
  const std::string id = Field(*form, "request_id");
  std::optional<PendingAuthorization> pending = store.PendingSignIn(id);
  if (!pending) {
    SendError(res, 400, kExpired);
    return;
  }
  std::string consent_id;
  const std::string username = Field(*form, "username");
  switch (store.SignIn(id, username, Field(*form, "password"), &consent_id)) {
    case AgFinitiStore::SignInOutcome::kSignedIn:
      SendPage(res, 200, ConsentPage(consent_id, pending->app_name, username, pending->scopes));
      return;
    case AgFinitiStore::SignInOutcome::kWrongPassword:
      SendPage(res, 200,
               SignInPage(id, pending->app_name, "The username or password is incorrect."));
      return;
    case AgFinitiStore::SignInOutcome::kTooManyFailures:
      SendError(res, 400,
                "Too many failed sign-in attempts. Go back to the application and start again.");
      return;
    case AgFinitiStore::SignInOutcome::kUnknownRequest:
      SendError(res, 400, kExpired);
      return;
  }
}

void ServeConsent(AgFinitiStore& store, const httplib::Request& req, httplib::Response& res) {
  std::optional<std::map<std::string, std::string>> form = ReadForm(req, res);
  if (!form) return;
  const std::string decision = Field(*form, "decision");
  if (decision != "allow" && decision != "deny") {
    SendError(res, 400, "Choose Allow or Deny.");
    return;
  }
  std::optional<ConsentResult> result =
      store.Consent(Field(*form, "request_id"), decision == "allow");
  if (!result) {
    SendError(res, 400, kExpired);
    return;
  }
  std::vector<std::pair<std::string, std::string>> q;
  if (result->code) {
    q.emplace_back("code", *result->code);
  } else {
    q.emplace_back("error", "access_denied");
    q.emplace_back("error_description", "the grower denied access");
  }
  if (!result->state.empty()) q.emplace_back("state", result->state);
  // 302 after a POST: browsers follow it with a GET, as AgFiniti's does.
  res.status = 302;
  res.set_header("Location", AppendQuery(result->redirect_uri, q));
  res.set_header("Cache-Control", "no-store");
  res.set_header("Referrer-Policy", "no-referrer");
}

}  // namespace agfiniti
}  // namespace leafemu
