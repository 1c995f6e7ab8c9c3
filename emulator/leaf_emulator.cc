// The facade: wires the parts of the emulator together and routes each
// request. Every request goes to the control API (/_emulator/...) or is
// recorded, counted against its API owner's request limit (a refusal is the
// gateway's 429, before any fault or route: nothing else happens) and then
// either meets an injected fault or Leaf's routes.
//
//   http_server  lifecycle, sockets          router, routes_*.cc  Leaf's API
//   store        users, credentials, events  auth, jwt            login, Bearer check
//   faults       the fault plan and kinds    control_api          /_emulator/ controls
//   request_log  what was asked              state                all of the above
//   rate_limit   Leaf's request limit        api_owner            whose request it counts as
#include "emulator/leaf_emulator.h"

#include <iostream>
#include <mutex>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "emulator/agfiniti/leaf_link.h"
#include "emulator/agfiniti/service.h"
#include "emulator/api_owner.h"
#include "emulator/control_api.h"
#include "emulator/faults.h"
#include "emulator/http_server.h"
#include "emulator/paths.h"
#include "emulator/routes.h"
#include "emulator/state.h"

namespace leafemu {

class LeafEmulator::Impl {
 public:
  explicit Impl(EmulatorOptions options)
      : state_(std::move(options)),
        router_(MakeLeafRouter({state_.options, state_.store, state_.auth, state_.webhooks,
                                state_.alerts, state_.agfiniti})),
        control_(state_),
        server_(state_.options, kHealthPath,
                [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); }) {
  }

  EmulatorState& state() { return state_; }
  HttpServer& server() { return server_; }

 private:
  void Handle(const httplib::Request& req, httplib::Response& res);
  // AgFiniti is another site: Leaf's request limit and faults do not apply.
  void HandleAgFiniti(const httplib::Request& req, httplib::Response& res);

  EmulatorState state_;
  std::unique_ptr<Router> router_;
  ControlApi control_;
  std::mutex log_mu_;  // one request line at a time on stderr
  HttpServer server_;  // last: stops (and so stops calling Handle) first
};

void LeafEmulator::Impl::Handle(const httplib::Request& req, httplib::Response& res) {
  if (absl::StartsWith(req.path, kControlPrefix)) {
    control_.Handle(req, res);
    return;
  }
  if (agfiniti::IsAgFinitiPath(req.path)) {
    HandleAgFiniti(req, res);
    return;
  }
  RequestLog::Entry rec = state_.requests.Record(req);
  const RateLimiter::Decision admitted =
      state_.rate_limit.Admit(ApiOwnerOf(req, state_.options.static_tokens));
  std::optional<Fault> fault;
  if (admitted.accepted) fault = state_.faults.Take(req.method, req.path);
  if (!admitted.accepted) {
    SendRateLimited(res, admitted.config);
    state_.requests.SetStatus(rec, res.status);
  } else if (fault) {
    FaultContext ctx{
        &server_,
        [this](const httplib::Request& r, httplib::Response& s) { router_->Handle(r, s); },
        [log = &state_.requests, rec](int status) { log->SetStatus(rec, status); }};
    ApplyFault(*fault, ctx, req, res);
  } else {
    router_->Handle(req, res);
    state_.requests.SetStatus(rec, res.status);
  }
  if (state_.options.log_requests) {
    std::lock_guard<std::mutex> l(log_mu_);
    std::cerr << "leaf_emulator: " << req.method << " " << req.path << " -> "
              << state_.requests.StatusOf(rec)
              << (fault ? absl::StrCat(" (fault ", FaultKindName(fault->kind), ")") : std::string())
              << std::endl;
  }
}

void LeafEmulator::Impl::HandleAgFiniti(const httplib::Request& req, httplib::Response& res) {
  // Recorded for counting, without what carries secrets (form bodies with
  // passwords, codes and client secrets; the Basic header).
  httplib::Request redacted;
  redacted.method = req.method;
  redacted.path = req.path;
  redacted.headers = req.headers;
  redacted.headers.erase("Authorization");
  redacted.body = req.body.empty() ? "" : "[redacted]";
  RequestLog::Entry rec = state_.requests.Record(redacted);
  agfiniti::TokenEndpointHooks hooks{
      [this](const std::vector<std::string>& revoked) {
        agfiniti::FlipRevokedCredentials(state_, revoked);
      },
      [this](absl::Duration d) { return server_.SleepUnlessStopping(d); }};
  agfiniti::ServeAgFiniti(state_.agfiniti, hooks, req, res);
  state_.requests.SetStatus(rec, res.status);
  if (state_.options.log_requests) {
    std::lock_guard<std::mutex> l(log_mu_);
    std::cerr << "leaf_emulator: " << req.method << " " << req.path << " -> " << res.status
              << std::endl;
  }
}

absl::StatusOr<std::unique_ptr<LeafEmulator>> LeafEmulator::Start(EmulatorOptions options) {
  if (absl::Status s = agfiniti::AgFinitiStore::ValidateOptions(options.agfiniti); !s.ok()) {
    return s;
  }
  if (options.rate_limit_per_minute < 0) {
    return absl::InvalidArgumentError("rate_limit_per_minute must be >= 0 (0: no limit)");
  }
  if (options.rate_limit_retry_after_seconds && *options.rate_limit_retry_after_seconds < 0) {
    return absl::InvalidArgumentError("rate_limit_retry_after_seconds must be >= 0 when set");
  }
  auto impl = std::make_unique<Impl>(std::move(options));
  if (absl::Status s = impl->server().Start(); !s.ok()) return s;
  return std::unique_ptr<LeafEmulator>(new LeafEmulator(std::move(impl)));
}

LeafEmulator::LeafEmulator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LeafEmulator::~LeafEmulator() { Stop(); }

int LeafEmulator::port() const { return impl_->server().port(); }
std::string LeafEmulator::base_url() const { return impl_->server().base_url(); }
void LeafEmulator::Stop() { impl_->server().Stop(); }

void LeafEmulator::SetDuplicateCreateMode(DuplicateCreateMode mode) {
  impl_->state().store.SetDuplicateMode(mode);
}
bool LeafEmulator::SetCredentialStatus(const std::string& leaf_user_id, const std::string& status) {
  return impl_->state().store.SetStatus(leaf_user_id, status);
}
bool LeafEmulator::AddEvent(const std::string& leaf_user_id, StoredEvent event) {
  return impl_->state().store.AddEvent(leaf_user_id, std::move(event));
}
void LeafEmulator::PutCredentials(const std::string& leaf_user_id, StoredCredentials c) {
  impl_->state().store.Put(leaf_user_id, std::move(c));
}
std::optional<StoredCredentials> LeafEmulator::GetStored(const std::string& leaf_user_id) const {
  return impl_->state().store.Get(leaf_user_id);
}
std::vector<StoredEvent> LeafEmulator::GetEvents(const std::string& leaf_user_id) const {
  return impl_->state().store.Events(leaf_user_id).value_or(std::vector<StoredEvent>());
}
void LeafEmulator::InjectFault(Fault fault) { impl_->state().faults.Inject(std::move(fault)); }
void LeafEmulator::ClearFaults() { impl_->state().faults.Clear(); }
std::vector<RecordedRequest> LeafEmulator::Requests() const {
  return impl_->state().requests.Matching("", "");
}
int LeafEmulator::CountRequests(const std::string& method, const std::string& path_contains) const {
  return impl_->state().requests.Count(method, path_contains);
}
void LeafEmulator::ClearRequests() { impl_->state().requests.Clear(); }
int LeafEmulator::LoginCount() const { return impl_->state().auth.LoginCount(); }
std::string LeafEmulator::IssueToken(const std::string& username, absl::Duration lifetime) {
  return impl_->state().auth.IssueToken(username, lifetime);
}
void LeafEmulator::RevokeAllTokens() { impl_->state().auth.RevokeAllTokens(); }
std::vector<AlertDelivery> LeafEmulator::AlertDeliveries() const {
  return impl_->state().alerts.Deliveries();
}
void LeafEmulator::SetRateLimit(RateLimitConfig config) {
  impl_->state().rate_limit.Configure(std::move(config));
}
RateLimitStats LeafEmulator::RateLimitCounters() const { return impl_->state().rate_limit.Stats(); }
void LeafEmulator::Reset() { impl_->state().Reset(); }

absl::Status LeafEmulator::AddAgFinitiApp(AgFinitiApp app) {
  return impl_->state().agfiniti.AddApp(std::move(app));
}
absl::Status LeafEmulator::AddAgFinitiGrower(const std::string& username,
                                             const std::string& password) {
  return impl_->state().agfiniti.AddGrower(username, password);
}
AgFinitiRevocation LeafEmulator::RevokeAgFinitiGrower(const std::string& username) {
  agfiniti::GrowerRevocation r = agfiniti::RevokeGrower(impl_->state(), username);
  return {r.revoked_refresh_tokens, r.flipped_credentials};
}
absl::StatusOr<std::string> LeafEmulator::IssueAgFinitiRefreshToken(const std::string& username,
                                                                    const std::string& client_id,
                                                                    const std::string& scope) {
  return impl_->state().agfiniti.IssueRefreshToken(username, client_id, scope);
}
bool LeafEmulator::IsLiveAgFinitiRefreshToken(const std::string& refresh_token) const {
  return impl_->state().agfiniti.IsLiveRefreshToken(refresh_token, "");
}
agfiniti::AgFinitiStats LeafEmulator::AgFinitiCounters() const {
  return impl_->state().agfiniti.Stats();
}
std::optional<agfiniti::AuthorizeParams> LeafEmulator::LastAgFinitiAuthorize() const {
  return impl_->state().agfiniti.LastAuthorize();
}
void LeafEmulator::SetAgFinitiTokenFault(agfiniti::TokenFault fault) {
  impl_->state().agfiniti.SetTokenFault(std::move(fault));
}
void LeafEmulator::ClearAgFinitiTokenFault() { impl_->state().agfiniti.ClearTokenFault(); }
std::string LeafEmulator::agfiniti_authorize_url() const {
  return base_url() + "/agfiniti/Account/Authorize";
}
std::string LeafEmulator::agfiniti_token_url() const { return base_url() + "/agfiniti/api/token"; }

SeedResult LeafEmulator::Seed(const SeedSpec& spec) {
  return leafemu::Seed(impl_->state().store, spec, *impl_->state().options.provider);
}

}  // namespace leafemu
