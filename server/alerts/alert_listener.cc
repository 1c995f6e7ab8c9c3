#include "server/alerts/alert_listener.h"

#include <rapidjson/document.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/alerts/signature.h"
#include "server/json/untrusted_json.h"
#include "server/observability/log.h"
#include "server/observability/log_throttle.h"

namespace leafsvc::alerts {
namespace {

constexpr char kConfirmation[] = "confirmation of webhook upon registration";

httpd::HttpResponse Answer(int status, absl::string_view result) {
  httpd::HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = absl::StrCat("{\"result\":\"", result, "\"}");
  return r;
}

}  // namespace

AlertListener::AlertListener(AlertListenerOptions options) : options_(std::move(options)) {}

AlertListener::Outcome AlertListener::Handle(const AlertListenerOptions& options,
                                             absl::string_view body, absl::string_view signature,
                                             bool signature_present) {
  if (!signature_present || !SignatureMatches(options.secret.Reveal(), body, signature)) {
    // Never logs the body or the signature, and at most a line per 10 s: an
    // attacker's probes are not worth the log's bytes.
    static LogThrottle throttle(LogLevel::kWarning,
                                "Leaf alerts refused: missing or wrong X-Leaf-Signature");
    throttle.Note(signature_present ? "wrong_signature" : "no_signature");
    return {401, kResultBadSignature};
  }
  rapidjson::Document doc;
  if (!json::ParseUntrusted(body, doc).ok() || !doc.IsObject()) return {200, kResultUnrecognized};
  auto member = [&doc](const char* name) -> std::string {
    auto it = doc.FindMember(name);
    if (it == doc.MemberEnd() || !it->value.IsString()) return "";
    return std::string(it->value.GetString(), it->value.GetStringLength());
  };
  if (member("message") == kConfirmation && member("credentialId").empty()) {
    Log(LogLevel::kInfo, "Leaf confirmed the webhook registration");
    return {200, kResultConfirmation};
  }
  watch::CredentialAlert alert;
  alert.credential_id = member("credentialId");
  if (alert.credential_id.empty()) return {200, kResultUnrecognized};
  alert.provider = member("provider");
  alert.credential_type = member("credential");
  alert.event = member("type");
  alert.status = member("status");
  if (options.alerts != nullptr) options.alerts->Publish(std::move(alert));
  return {200, kResultAccepted};
}

absl::StatusOr<std::unique_ptr<AlertListener>> AlertListener::Start(AlertListenerOptions options) {
  std::unique_ptr<AlertListener> listener(new AlertListener(std::move(options)));
  const AlertListenerOptions* opts = &listener->options_;
  httpd::HttpServerOptions http;
  http.name = "alerts";
  http.listen = opts->listen;
  http.limits = opts->limits;
  // Leaf posts to the path of the registered URL, whatever it is.
  http.routes.push_back(
      {"POST", "*", opts->max_body_bytes, [opts](const httpd::HttpRequest& req) {
         const std::string* signature = req.Header(kSignatureHeader);
         const Outcome outcome =
             Handle(*opts, req.body, signature ? *signature : "", signature != nullptr);
         if (opts->on_result && absl::string_view(outcome.result) != kResultAccepted) {
           opts->on_result(outcome.result);
         }
         return Answer(outcome.http_status, outcome.result);
       }});
  http.on_refused = [opts](absl::string_view reason) {
    if (reason == httpd::kRefusedBodyTooLarge && opts->on_result) opts->on_result(kResultTooLarge);
    if (opts->on_refused) opts->on_refused(reason);
  };
  absl::StatusOr<std::unique_ptr<httpd::HttpServer>> server =
      httpd::HttpServer::Start(std::move(http));
  if (!server.ok()) return server.status();
  listener->server_ = *std::move(server);
  Log(LogLevel::kInfo, "listening for Leaf alerts",
      {{"listen", opts->listen}, {"port", listener->server_->port()}});
  return listener;
}

void AlertListener::Stop() {
  if (server_ != nullptr) server_->Stop();
}

AlertListener::~AlertListener() { Stop(); }

}  // namespace leafsvc::alerts
