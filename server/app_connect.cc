// App::StartConnect: the wiring of connect links (docs/connect.md): their
// store (memory, or Redis in fleet mode so a callback completes on any
// replica), the flow over AgFiniti and Leaf, and the grower's pages on the
// hardened HTTP listener. No behaviour of its own.
#include <memory>
#include <utility>

#include "server/app.h"
#include "server/connect/connect_pages.h"
#include "server/connect/memory_link_store.h"
#include "server/connect/redis_link_store.h"
#include "server/connect/url_encoding.h"
#include "server/observability/log.h"
#include "server/secrets/redact.h"

namespace leafsvc {
absl::Status App::StartConnect() {
  if (!config_.connect.has_value()) return absl::OkStatus();
  const connect::ConnectConfig& config = *config_.connect;
  if (redis_ != nullptr) {
    link_store_ = std::make_unique<connect::RedisLinkStore>(redis_.get(), "leaf");
  } else {
    link_store_ = std::make_unique<connect::MemoryLinkStore>();
  }
  // A link that connected prompts a read of its user on every replica (the
  // alert bus is the fleet's in fleet mode): Watch reports the new
  // credentials with CHANGE_SOURCE_CONNECT_LINK.
  App* self = this;
  auto on_connected = [self](const connect::ConnectLink& link) {
    if (self->alert_bus_ == nullptr) return;
    watch::CredentialAlert prompt;
    prompt.credential_id = link.credentials_id.empty() ? link.id : link.credentials_id;
    prompt.leaf_user_id = link.leaf_user_id;
    prompt.event = "connectLinkConnected";
    self->alert_bus_->Publish(std::move(prompt));
  };
  connect_service_ = std::make_unique<connect::ConnectService>(
      config.options, link_store_.get(), http_.get(), leaf_.get(), std::function<absl::Time()>(),
      std::move(on_connected));

  connect::ConnectPagesOptions pages;
  pages.display_name = config.display_name;
  pages.public_url = config.options.public_url;
  pages.authorize_origin = connect::UrlOrigin(config.options.authorize_url);
  pages.scopes = config.options.scopes;
  Metrics* metrics = metrics_.get();
  pages.on_refused = [metrics](absl::string_view reason) {
    metrics->HttpRefused("connect", reason);
  };
  httpd::HttpServerOptions http;
  http.name = "connect";
  http.listen = config.listen;
  http.limits = config_.http_limits;
  http.extra_headers = connect::ConnectSecurityHeaders(pages);
  http.on_refused = [metrics](absl::string_view r) { metrics->HttpRefused("connect", r); };
  http.routes = connect::ConnectRoutes(std::move(pages), connect_service_.get());
  absl::StatusOr<std::unique_ptr<httpd::HttpServer>> server =
      httpd::HttpServer::Start(std::move(http));
  if (!server.ok()) return server.status();
  connect_pages_ = *std::move(server);
  Log(LogLevel::kInfo, "connect links on",
      {{"pages_port", connect_pages_->port()},
       {"public_url", config.options.public_url},
       {"store", redis_ != nullptr ? "redis" : "memory"},
       {"pkce", config.options.pkce}});
  return absl::OkStatus();
}

}  // namespace leafsvc
