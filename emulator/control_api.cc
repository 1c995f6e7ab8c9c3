#include "emulator/control_api.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "emulator/agfiniti/control.h"
#include "emulator/control_json.h"
#include "emulator/json.h"
#include "emulator/leaf_json.h"
#include "emulator/paths.h"
#include "emulator/problem.h"
#include "emulator/seed.h"
#include "emulator/status_alerts.h"

namespace leafemu {
namespace {

// One control request: the path below /_emulator/ split at '/', and the
// answers every endpoint shares.
struct Call {
  EmulatorState& state;
  const httplib::Request& req;
  httplib::Response& res;
  std::vector<std::string> parts;

  const std::string& user() const { return parts[1]; }  // for users/*/...
  void Ok() const { SendJson(res, 200, "{\"ok\":true}"); }
  void BadRequest(const std::string& detail) const {
    Problem p;
    p.status = 400;
    p.detail = detail;
    SendProblem(req, res, p);
  }
  const ProviderSpec& provider() const { return *state.options.provider; }
  void NoCredentials() const {
    SendProblem(req, res, CredentialsNotFound(user(), provider().display_name));
  }
  void Credentials(const StoredCredentials& c) const {
    SendJson(res, 200, CredentialsJson(c, provider()));
  }
};

void Health(const Call& c) { SendJson(c.res, 200, "{\"status\":\"ok\"}"); }

void Reset(const Call& c) {
  c.state.Reset();
  c.Ok();
}

void DuplicateModeAnswer(const Call& c, DuplicateCreateMode mode) {
  SendJson(c.res, 200, absl::StrCat("{\"mode\":\"", DuplicateModeName(mode), "\"}"));
}

void SetDuplicateMode(const Call& c) {
  rapidjson::Document doc;
  std::optional<DuplicateCreateMode> mode;
  if (ParseObject(c.req.body, doc)) {
    mode = DuplicateModeFromName(StringMember(doc, "mode").value_or(""));
  }
  if (!mode) {
    c.BadRequest("expected {\"mode\":\"replace|bad_request|conflict\"}");
    return;
  }
  c.state.store.SetDuplicateMode(*mode);
  DuplicateModeAnswer(c, *mode);
}

void GetDuplicateMode(const Call& c) { DuplicateModeAnswer(c, c.state.store.duplicate_mode()); }

void AddFault(const Call& c) {
  absl::StatusOr<Fault> fault = FaultFromJson(c.req.body);
  if (!fault.ok()) {
    c.BadRequest(std::string(fault.status().message()));
    return;
  }
  c.state.faults.Inject(*std::move(fault));
  c.Ok();
}

void ClearFaults(const Call& c) {
  c.state.faults.Clear();
  c.Ok();
}

void ListRequests(const Call& c) {
  SendJson(c.res, 200,
           RecordedRequestsJson(c.state.requests.Matching(c.req.get_param_value("method"),
                                                          c.req.get_param_value("path_contains"))));
}

void CountRequests(const Call& c) {
  SendJson(c.res, 200,
           absl::StrCat("{\"count\":",
                        c.state.requests.Count(c.req.get_param_value("method"),
                                               c.req.get_param_value("path_contains")),
                        "}"));
}

void ClearRequests(const Call& c) {
  c.state.requests.Clear();
  c.Ok();
}

void Stats(const Call& c) {
  size_t requests = c.state.requests.size();
  RateLimitStats limit = c.state.rate_limit.Stats();
  SendJson(c.res, 200,
           absl::StrCat("{\"login_count\":", c.state.auth.LoginCount(), ",\"request_count\":",
                        requests, ",\"rate_limited_count\":", limit.rate_limited_count,
                        ",\"requests_in_last_minute\":", limit.requests_in_last_minute,
                        ",\"max_requests_in_any_minute\":", limit.max_requests_in_any_minute, "}"));
}

void RateLimitAnswer(const Call& c, const RateLimitConfig& config) {
  SendJson(c.res, 200,
           absl::StrCat("{\"per_minute\":", config.per_minute, ",\"retry_after_seconds\":",
                        config.retry_after_seconds ? absl::StrCat(*config.retry_after_seconds)
                                                   : std::string("null"),
                        "}"));
}

void GetRateLimit(const Call& c) { RateLimitAnswer(c, c.state.rate_limit.config()); }

// {"per_minute": N (0: off), "retry_after_seconds": S (absent or null: no
// Retry-After)}.
void SetRateLimit(const Call& c) {
  constexpr char kExpected[] =
      "expected {\"per_minute\": 0 to 1000000000 (0: no limit), \"retry_after_seconds\": 0 to "
      "86400 or null (no Retry-After)}";
  rapidjson::Document doc;
  if (!ParseObject(c.req.body, doc)) {
    c.BadRequest(kExpected);
    return;
  }
  RateLimitConfig config;
  std::optional<int64_t> per_minute = IntMember(doc, "per_minute");
  if (!per_minute || *per_minute < 0 || *per_minute > 1000000000) {
    c.BadRequest(absl::StrCat("bad per_minute: ", kExpected));
    return;
  }
  config.per_minute = static_cast<int>(*per_minute);
  auto retry = doc.FindMember("retry_after_seconds");
  if (retry != doc.MemberEnd() && !retry->value.IsNull()) {
    std::optional<int64_t> seconds = IntMember(doc, "retry_after_seconds");
    if (!seconds || *seconds < 0 || *seconds > 86400) {
      c.BadRequest(absl::StrCat("bad retry_after_seconds: ", kExpected));
      return;
    }
    config.retry_after_seconds = static_cast<int>(*seconds);
  }
  c.state.rate_limit.Configure(config);
  RateLimitAnswer(c, config);
}

void RevokeTokens(const Call& c) {
  c.state.auth.RevokeAllTokens();
  c.Ok();
}

void IssueToken(const Call& c) {
  rapidjson::Document doc;
  std::optional<std::string> username;
  if (ParseObject(c.req.body, doc)) username = StringMember(doc, "username");
  if (!username) {
    c.BadRequest("expected {\"username\":\"...\",\"lifetime_seconds\":N}");
    return;
  }
  absl::Duration lifetime = c.state.options.token_lifetime;
  if (auto s = IntMember(doc, "lifetime_seconds")) lifetime = absl::Seconds(*s);
  SendJson(
      c.res, 200,
      absl::StrCat("{\"id_token\":", JsonQuote(c.state.auth.IssueToken(*username, lifetime)), "}"));
}

void SetStatus(const Call& c) {
  rapidjson::Document doc;
  std::optional<std::string> status;
  if (ParseObject(c.req.body, doc)) status = StringMember(doc, "status");
  if (!status) {
    c.BadRequest("expected {\"status\":\"...\"}");
    return;
  }
  std::optional<StoredCredentials> before = c.state.store.Get(c.user());
  std::optional<StoredCredentials> stored;
  if (c.state.store.SetStatus(c.user(), *status)) stored = c.state.store.Get(c.user());
  if (!stored) {
    c.NoCredentials();
    return;
  }
  // A status change through the control API is what Leaf's background
  // processing does: the webhooks for its event get an alert.
  SendStatusAlerts(c.state.webhooks, c.state.alerts, c.provider(), before ? before->status : "",
                   *stored);
  c.Credentials(*stored);
}

void ListAlertDeliveries(const Call& c) {
  std::string out = "[";
  bool first = true;
  for (const AlertDelivery& d : c.state.alerts.Deliveries()) {
    absl::StrAppend(&out, first ? "" : ",", "{\"webhook_id\":", JsonQuote(d.webhook_id),
                    ",\"url\":", JsonQuote(d.url), ",\"attempt\":", d.attempt,
                    ",\"http_status\":", d.http_status, ",\"body\":", JsonQuote(d.body), "}");
    first = false;
  }
  SendJson(c.res, 200, out + "]");
}

void GetCredentials(const Call& c) {
  std::optional<StoredCredentials> stored = c.state.store.Get(c.user());
  if (!stored) {
    c.NoCredentials();
    return;
  }
  c.Credentials(*stored);
}

void PutCredentials(const Call& c) {
  std::optional<StoredCredentials> creds = CredentialsFromJson(c.req.body, c.provider());
  if (!creds) {
    c.BadRequest("body must be a credential JSON object");
    return;
  }
  c.Credentials(c.state.store.Put(c.user(), *std::move(creds)));
}

void AddEvent(const Call& c) {
  std::optional<StoredEvent> event = EventFromJson(c.req.body);
  if (!event) {
    c.BadRequest("body must be an event JSON object");
    return;
  }
  if (!c.state.store.AddEvent(c.user(), *std::move(event))) {
    c.NoCredentials();
    return;
  }
  c.Ok();
}

void GetEvents(const Call& c) {
  std::optional<std::vector<StoredEvent>> events = c.state.store.Events(c.user());
  if (!events) {
    c.NoCredentials();
    return;
  }
  SendJson(c.res, 200, EventsJson(*events));
}

void SeedUsers(const Call& c) {
  absl::StatusOr<SeedSpec> spec = SeedSpecFromJson(c.req.body);
  if (!spec.ok()) {
    c.BadRequest(std::string(spec.status().message()));
    return;
  }
  SendJson(c.res, 200, SeedResultJson(Seed(c.state.store, *spec, c.provider())));
}

struct Endpoint {
  const char* method;
  const char* path[3];  // segments, "*" for any one; unused ones null
  void (*serve)(const Call&);
};

const Endpoint kEndpoints[] = {
    {"GET", {"health"}, Health},
    {"POST", {"reset"}, Reset},
    {"POST", {"duplicate-mode"}, SetDuplicateMode},
    {"GET", {"duplicate-mode"}, GetDuplicateMode},
    {"POST", {"faults"}, AddFault},
    {"DELETE", {"faults"}, ClearFaults},
    {"GET", {"requests"}, ListRequests},
    {"GET", {"requests", "count"}, CountRequests},
    {"DELETE", {"requests"}, ClearRequests},
    {"GET", {"stats"}, Stats},
    {"GET", {"rate_limit"}, GetRateLimit},
    {"POST", {"rate_limit"}, SetRateLimit},
    {"POST", {"revoke-tokens"}, RevokeTokens},
    {"POST", {"tokens"}, IssueToken},
    {"POST", {"users", "*", "status"}, SetStatus},
    {"GET", {"users", "*", "credentials"}, GetCredentials},
    {"PUT", {"users", "*", "credentials"}, PutCredentials},
    {"POST", {"users", "*", "credentials"}, PutCredentials},
    {"POST", {"users", "*", "events"}, AddEvent},
    {"GET", {"users", "*", "events"}, GetEvents},
    {"POST", {"seed"}, SeedUsers},
    {"GET", {"alerts", "deliveries"}, ListAlertDeliveries},
};

bool PathIs(const std::vector<std::string>& parts, const Endpoint& e) {
  size_t n = 0;
  while (n < 3 && e.path[n] != nullptr) ++n;
  if (parts.size() != n) return false;
  for (size_t i = 0; i < n; ++i) {
    if (*e.path[i] != '*' && parts[i] != e.path[i]) return false;
  }
  return true;
}

}  // namespace

void ControlApi::Handle(const httplib::Request& req, httplib::Response& res) const {
  Call call{state_, req, res,
            absl::StrSplit(absl::string_view(req.path).substr(kControlPrefix.size()), '/')};
  if (!call.parts.empty() && call.parts[0] == "agfiniti") {
    agfiniti::HandleControl(state_, call.parts, req, res);
    return;
  }
  for (const Endpoint& e : kEndpoints) {
    if (req.method == e.method && PathIs(call.parts, e)) {
      e.serve(call);
      return;
    }
  }
  Problem p;
  p.status = 404;
  p.detail = absl::StrCat("No control endpoint ", req.method, " ", req.path);
  SendProblem(req, res, p);
}

}  // namespace leafemu
