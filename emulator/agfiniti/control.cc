#include "emulator/agfiniti/control.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "emulator/agfiniti/leaf_link.h"
#include "emulator/json.h"
#include "emulator/problem.h"

namespace leafemu {
namespace agfiniti {
namespace {

void BadRequest(const httplib::Request& req, httplib::Response& res, const std::string& detail) {
  Problem p;
  p.status = 400;
  p.detail = detail;
  SendProblem(req, res, p);
}

void Ok(httplib::Response& res) { SendJson(res, 200, "{\"ok\":true}"); }

void AddApp(EmulatorState& state, const httplib::Request& req, httplib::Response& res) {
  constexpr char kExpected[] =
      "expected {\"public_key\":\"...\",\"private_key\":\"...\",\"name\":\"...\","
      "\"redirect_uris\":[\"https://...\"]}";
  rapidjson::Document doc;
  if (!ParseObject(req.body, doc)) return BadRequest(req, res, kExpected);
  AgFinitiApp app;
  app.public_key = StringMember(doc, "public_key").value_or("");
  app.private_key = StringMember(doc, "private_key").value_or("");
  app.name = StringMember(doc, "name").value_or("");
  auto uris = doc.FindMember("redirect_uris");
  if (uris != doc.MemberEnd()) {
    if (!uris->value.IsArray()) return BadRequest(req, res, kExpected);
    for (const auto& uri : uris->value.GetArray()) {
      if (!uri.IsString()) return BadRequest(req, res, kExpected);
      app.redirect_uris.emplace_back(uri.GetString(), uri.GetStringLength());
    }
  }
  if (absl::Status s = state.agfiniti.AddApp(std::move(app)); !s.ok()) {
    return BadRequest(req, res, std::string(s.message()));
  }
  Ok(res);
}

void AddGrower(EmulatorState& state, const httplib::Request& req, httplib::Response& res) {
  rapidjson::Document doc;
  std::optional<std::string> user, password;
  if (ParseObject(req.body, doc)) {
    user = StringMember(doc, "username");
    password = StringMember(doc, "password");
  }
  if (!user || !password || user->empty()) {
    return BadRequest(req, res, "expected {\"username\":\"...\",\"password\":\"...\"}");
  }
  (void)state.agfiniti.AddGrower(*user, *password);
  Ok(res);
}

void Revoke(EmulatorState& state, const httplib::Request& req, httplib::Response& res) {
  rapidjson::Document doc;
  std::optional<std::string> user;
  if (ParseObject(req.body, doc)) user = StringMember(doc, "username");
  if (!user || user->empty()) return BadRequest(req, res, "expected {\"username\":\"...\"}");
  GrowerRevocation r = RevokeGrower(state, *user);
  SendJson(res, 200,
           absl::StrCat("{\"revoked_refresh_tokens\":", r.revoked_refresh_tokens,
                        ",\"flipped_credentials\":", r.flipped_credentials, "}"));
}

void IssueRefreshToken(EmulatorState& state, const httplib::Request& req, httplib::Response& res) {
  rapidjson::Document doc;
  std::optional<std::string> user, client;
  if (ParseObject(req.body, doc)) {
    user = StringMember(doc, "username");
    client = StringMember(doc, "client_id");
  }
  if (!user || !client) {
    return BadRequest(req, res,
                      "expected {\"username\":\"...\",\"client_id\":\"...\",\"scope\":\"...\"}");
  }
  absl::StatusOr<std::string> token =
      state.agfiniti.IssueRefreshToken(*user, *client, StringMember(doc, "scope").value_or(""));
  if (!token.ok()) return BadRequest(req, res, std::string(token.status().message()));
  SendJson(res, 200, absl::StrCat("{\"refresh_token\":", JsonQuote(*token), "}"));
}

void Stats(EmulatorState& state, httplib::Response& res) {
  const AgFinitiStats s = state.agfiniti.Stats();
  SendJson(
      res, 200,
      absl::StrCat("{\"apps\":", s.apps, ",\"growers\":", s.growers, ",\"authorize_requests\":",
                   s.authorize_requests, ",\"pending_authorizations\":", s.pending_authorizations,
                   ",\"sign_in_failures\":", s.sign_in_failures, ",\"consents_allowed\":",
                   s.consents_allowed, ",\"consents_denied\":", s.consents_denied,
                   ",\"codes_issued\":", s.codes_issued, ",\"codes_redeemed\":", s.codes_redeemed,
                   ",\"code_replays\":", s.code_replays, ",\"token_requests\":", s.token_requests,
                   ",\"access_tokens_issued\":", s.access_tokens_issued,
                   ",\"refresh_tokens_issued\":", s.refresh_tokens_issued,
                   ",\"refresh_tokens_live\":", s.refresh_tokens_live,
                   ",\"refresh_tokens_revoked\":", s.refresh_tokens_revoked,
                   ",\"token_faults_served\":", s.token_faults_served, "}"));
}

void LastAuthorize(EmulatorState& state, const httplib::Request& req, httplib::Response& res) {
  std::optional<AuthorizeParams> p = state.agfiniti.LastAuthorize();
  if (!p) {
    Problem problem;
    problem.status = 404;
    problem.detail = "no authorize request yet";
    return SendProblem(req, res, problem);
  }
  SendJson(res, 200,
           absl::StrCat("{\"response_type\":", JsonQuote(p->response_type), ",\"client_id\":",
                        JsonQuote(p->client_id), ",\"redirect_uri\":", JsonQuote(p->redirect_uri),
                        ",\"scope\":", JsonQuote(p->scope), ",\"state\":", JsonQuote(p->state),
                        ",\"code_challenge\":", JsonQuote(p->code_challenge),
                        ",\"code_challenge_method\":", JsonQuote(p->code_challenge_method), "}"));
}

void SetTokenFault(EmulatorState& state, const httplib::Request& req, httplib::Response& res) {
  constexpr char kExpected[] =
      "expected {\"status\": 0 or 100-599 (0: answer normally after the delay), \"body\": "
      "\"...\", \"delay_ms\": 0-600000, \"times\": -1 or >= 1}";
  rapidjson::Document doc;
  if (!ParseObject(req.body, doc)) return BadRequest(req, res, kExpected);
  TokenFault f;
  const int64_t status = IntMember(doc, "status").value_or(500);
  const int64_t delay_ms = IntMember(doc, "delay_ms").value_or(0);
  const int64_t times = IntMember(doc, "times").value_or(1);
  if ((status != 0 && (status < 100 || status > 599)) || delay_ms < 0 || delay_ms > 600000 ||
      times == 0 || times < -1 || times > 1000000) {
    return BadRequest(req, res, kExpected);
  }
  f.status = static_cast<int>(status);
  f.body = StringMember(doc, "body").value_or("");
  f.delay = absl::Milliseconds(delay_ms);
  f.times = static_cast<int>(times);
  state.agfiniti.SetTokenFault(std::move(f));
  Ok(res);
}

}  // namespace

void HandleControl(EmulatorState& state, const std::vector<std::string>& parts,
                   const httplib::Request& req, httplib::Response& res) {
  const std::string what = parts.size() == 2 ? parts[1] : std::string();
  const std::string& m = req.method;
  if (m == "POST" && what == "apps") return AddApp(state, req, res);
  if (m == "POST" && what == "growers") return AddGrower(state, req, res);
  if (m == "POST" && what == "revoke") return Revoke(state, req, res);
  if (m == "POST" && what == "refresh-tokens") return IssueRefreshToken(state, req, res);
  if (m == "GET" && what == "stats") return Stats(state, res);
  if (m == "GET" && what == "last-authorize") return LastAuthorize(state, req, res);
  if (m == "POST" && what == "token-fault") return SetTokenFault(state, req, res);
  if (m == "DELETE" && what == "token-fault") {
    state.agfiniti.ClearTokenFault();
    return Ok(res);
  }
  Problem p;
  p.status = 404;
  p.detail = absl::StrCat("No control endpoint ", req.method, " ", req.path);
  SendProblem(req, res, p);
}

}  // namespace agfiniti
}  // namespace leafemu
