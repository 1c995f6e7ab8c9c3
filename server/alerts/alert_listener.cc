#include "server/alerts/alert_listener.h"

#include <httplib.h>
#include <rapidjson/document.h>

#include <chrono>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/alerts/signature.h"
#include "server/util/log.h"

namespace leafsvc::alerts {
namespace {

constexpr char kConfirmation[] = "confirmation of webhook upon registration";

void Answer(httplib::Response& res, int status, absl::string_view result) {
  res.status = status;
  res.set_content(absl::StrCat("{\"result\":\"", result, "\"}"), "application/json");
}

}  // namespace

AlertListener::AlertListener(AlertListenerOptions options) : options_(std::move(options)) {}

AlertListener::Outcome AlertListener::Handle(const AlertListenerOptions& options,
                                             absl::string_view body, absl::string_view signature,
                                             bool signature_present) {
  if (!signature_present || !SignatureMatches(options.secret.Reveal(), body, signature)) {
    // Never logs the body or the signature: an attacker's probe is not
    // worth a log line's bytes, and a genuine body names credentials.
    Log(LogLevel::kWarning, "Leaf alert refused: missing or wrong X-Leaf-Signature",
        {{"signature_present", signature_present}, {"body_bytes", body.size()}});
    return {401, kResultBadSignature};
  }
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return {200, kResultUnrecognized};
  auto member = [&doc](const char* name) -> std::string {
    auto it = doc.FindMember(name);
    if (it == doc.MemberEnd() || !it->value.IsString()) return "";
    return std::string(it->value.GetString(), it->value.GetStringLength());
  };
  if (member("message") == kConfirmation && member("credentialId").empty()) {
    Log(LogLevel::kInfo, "Leaf confirmed the webhook registration");
    return {200, kResultConfirmation};
  }
  const std::string credential_id = member("credentialId");
  if (credential_id.empty()) return {200, kResultUnrecognized};
  const bool known = options.prompt && options.prompt(credential_id);
  Log(LogLevel::kInfo, "Leaf alert received",
      {{"type", member("type")}, {"status", member("status")}, {"watched", known}});
  return {200, known ? kResultPrompted : kResultUnknownCredential};
}

absl::StatusOr<std::unique_ptr<AlertListener>> AlertListener::Start(AlertListenerOptions options) {
  const size_t colon = options.listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(options.listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--alerts_listen must be host:port, got \"", options.listen, "\""));
  }
  std::string host = options.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  std::unique_ptr<AlertListener> listener(new AlertListener(std::move(options)));
  listener->server_ = std::make_unique<httplib::Server>();
  httplib::Server& server = *listener->server_;
  const AlertListenerOptions* opts = &listener->options_;
  server.set_payload_max_length(opts->max_body_bytes);
  server.set_read_timeout(10, 0);
  server.set_write_timeout(10, 0);
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server.Post(".*", [opts](const httplib::Request& req, httplib::Response& res) {
    const bool present = req.has_header(kSignatureHeader);
    Outcome outcome = Handle(*opts, req.body, req.get_header_value(kSignatureHeader), present);
    if (opts->on_result) opts->on_result(outcome.result);
    Answer(res, outcome.http_status, outcome.result);
  });
  // Refused on its declared length, before the body is read (httplib would
  // answer 413 by itself, but unseen by the metrics); a chunked body over
  // the limit still gets httplib's 413.
  server.set_pre_routing_handler([opts](const httplib::Request& req, httplib::Response& res) {
    size_t length = 0;
    if (!req.has_header("Content-Length") ||
        !absl::SimpleAtoi(req.get_header_value("Content-Length"), &length) ||
        length <= opts->max_body_bytes) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    if (opts->on_result) opts->on_result(kResultTooLarge);
    Answer(res, 413, kResultTooLarge);
    return httplib::Server::HandlerResponse::Handled;
  });
  listener->port_ = port == 0 ? server.bind_to_any_port(host) : port;
  if (listener->port_ <= 0 || (port != 0 && !server.bind_to_port(host, port))) {
    return absl::UnavailableError(absl::StrCat("cannot listen for Leaf alerts on ", opts->listen));
  }
  listener->thread_ = std::thread([&server] { server.listen_after_bind(); });
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!server.is_running() && absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  Log(LogLevel::kInfo, "listening for Leaf alerts",
      {{"listen", opts->listen}, {"port", listener->port_}});
  return listener;
}

void AlertListener::Stop() {
  if (stopped_.exchange(true) || server_ == nullptr) return;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!server_->is_running() && absl::Now() < deadline && thread_.joinable()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

AlertListener::~AlertListener() { Stop(); }

}  // namespace leafsvc::alerts
