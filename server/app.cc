#include "server/app.h"

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/config/config_secrets.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"
#include "server/observability/leaf_observer.h"
#include "server/observability/log.h"
#include "server/providers/agleader/agleader_spec.h"
#include "server/secrets/redact.h"
#include "server/security/listener_security.h"
#include "server/security/page_token_key.h"

namespace leafsvc {

namespace {

bool IsLoopback(absl::string_view listen) {
  absl::string_view host = listen.substr(0, listen.rfind(':'));
  return absl::StartsWith(host, "127.") || host == "localhost" || host == "[::1]";
}

}  // namespace

absl::StatusOr<std::unique_ptr<App>> App::Start(const ServerConfig& config) {
  std::unique_ptr<App> app(new App);
  app->config_ = config;
  // Whatever text leaves the process from now on is redacted of these.
  RegisterProcessSecret(config.leaf_token.Reveal());
  RegisterProcessSecret(config.leaf_password.Reveal());
  RegisterProcessSecret(config.page_token_key);
  RegisterProcessSecret(config.alerts_secret.Reveal());
  RegisterProcessSecret(config.redis_password.Reveal());
  if (config.connect.has_value()) {
    RegisterProcessSecret(config.connect->options.private_key.Reveal());
  }
  if (!config.redis_url.empty()) {
    absl::StatusOr<fleet::RedisUrl> redis = fleet::ParseRedisUrl(config.redis_url.Reveal());
    if (!redis.ok()) return redis.status();
    RegisterProcessSecret(redis->password.Reveal());
  }
  app->metrics_ = std::make_unique<Metrics>();
  if (!config.metrics_listen.empty()) {
    if (absl::Status st = app->ServeMetrics(); !st.ok()) return st;
  }

  http::CurlHttpClientOptions http_options;
  http_options.connect_timeout = config.connect_timeout;
  http_options.max_response_bytes = config.max_response_bytes;
  http_options.max_connections_per_host = config.max_connections_per_host;
  http_options.ca_file = config.leaf_ca_file;
  absl::StatusOr<std::unique_ptr<http::CurlHttpClient>> http =
      http::CurlHttpClient::Create(http_options);
  if (!http.ok()) return http.status();
  app->http_ = *std::move(http);
  app->scheduler_ = std::make_unique<Scheduler>();
  Metrics* metrics = app->metrics_.get();
  budget::RequestBudget::Observer budget_observer;
  budget_observer.granted = [metrics](budget::RequestClass c) {
    metrics->LeafRequestGranted(budget::RequestClassName(c));
  };
  budget_observer.waited = [metrics](budget::RequestClass c) {
    metrics->LeafBudgetWait(budget::RequestClassName(c));
  };
  budget_observer.rate_limited = [metrics] { metrics->LeafRateLimited(); };
  budget_observer.rate_changed = [metrics](double rpm) { metrics->LeafBudgetRate(rpm); };
  metrics->LeafBudgetRate(config.leaf_budget.requests_per_minute);
  if (absl::Status st = app->StartFleet(); !st.ok()) return st;
  budget::RequestBudgetOptions budget_options = config.leaf_budget;
  if (app->fleet_limiter_ != nullptr) {
    // This replica's own bucket is its share, for while Redis is away.
    absl::StatusOr<budget::RequestBudgetOptions> share =
        app->fleet_limiter_->LocalShare(config.fleet_size_hint);
    if (!share.ok()) return share.status();
    budget_options = *share;
  }
  app->budget_ = std::make_unique<budget::RequestBudget>(budget_options, app->scheduler_.get(),
                                                         &absl::Now, std::move(budget_observer));
  if (app->fleet_limiter_ != nullptr) app->budget_->UseSupply(app->fleet_limiter_.get());
  app->leaf_http_ = std::make_unique<budget::BudgetedHttpClient>(
      app->http_.get(), app->budget_.get(), app->scheduler_.get());

  const providers::ProviderSpec& provider =
      config.provider != nullptr ? *config.provider : providers::AgLeaderSpec();
  leaf::LeafEndpoints endpoints(config.leaf_api_url, provider);
  if (!config.leaf_token.empty()) {
    app->tokens_ = std::make_unique<leaf::StaticTokenSource>(config.leaf_token);
  } else {
    leaf::LoginOptions login;
    login.username = config.leaf_username;
    login.password = config.leaf_password;
    login.timeout = config.upstream_timeout;
    login.policy.initial_backoff = config.leaf_login_backoff;
    login.policy.max_backoff = config.leaf_login_max_backoff;
    login.on_login = [metrics](bool ok) { metrics->LeafLogin(ok); };
    app->tokens_ = std::make_unique<leaf::LoginTokenSource>(app->leaf_http_.get(), endpoints,
                                                            std::move(login));
  }
  App* raw = app.get();
  app->leaf_health_ =
      std::make_unique<UpstreamHealth>(config.leaf_health_window, [raw](bool serving) {
        Log(serving ? LogLevel::kInfo : LogLevel::kWarning,
            serving ? "Leaf is answering again" : "Leaf has been failing; leaf-api NOT_SERVING");
        raw->metrics_->LeafUp(serving);
        absl::MutexLock lock(&raw->health_mu_);
        if (raw->health_ != nullptr) raw->health_->SetServingStatus(kLeafHealthName, serving);
      });
  leaf::LeafClientOptions leaf_options;
  leaf_options.retry.max_attempts = config.max_attempts;
  leaf_options.max_in_flight = config.max_upstream_in_flight;
  leaf_options.first_byte_timeout = config.upstream_first_byte_timeout > absl::ZeroDuration()
                                        ? config.upstream_first_byte_timeout
                                        : absl::InfiniteDuration();
  leaf_options.scheduler = app->scheduler_.get();
  ObserveLeafClient(app->metrics_.get(), app->leaf_health_.get(), leaf_options);
  leaf_options.on_coalesced = [metrics] { metrics->LeafCoalesced(); };
  app->leaf_ = std::make_unique<leaf::LeafClient>(app->leaf_http_.get(), app->tokens_.get(),
                                                  endpoints, std::move(leaf_options));
  ServiceOptions service_options;
  service_options.methods.upstream_timeout = config.upstream_timeout;
  service_options.allow_full_view = config.allow_full_view;
  service_options.allow_caller_leaf_token = config.allow_caller_leaf_token;
  absl::StatusOr<std::string> page_token_key = PageTokenKeyOrRandom(config.page_token_key);
  if (!page_token_key.ok()) return page_token_key.status();
  service_options.page_token_key = *std::move(page_token_key);
  service_options.methods.batch_fan_out = config.batch_fan_out;
  service_options.budget = app->budget_.get();
  if (absl::Status st = app->StartConnect(); !st.ok()) return st;
  service_options.connect = app->connect_service_.get();
  app->service_ = std::make_unique<AgLeaderCredentialsService>(app->leaf_.get(), service_options,
                                                               app->metrics_.get());
  WipeString(service_options.page_token_key);
  if (absl::Status st = app->StartWatch(); !st.ok()) return st;

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> listener_credentials =
      BuildServerCredentials(config.security);
  if (!listener_credentials.ok()) return listener_credentials.status();
  // The token source, the service and the listener credentials hold what
  // they need; the copy kept for target() and Shutdown() holds no secret.
  WipeSecrets(app->config_);

  if (!IsLoopback(config.listen) && CallersUnauthenticated(config.security)) {
    Log(LogLevel::kWarning,
        "listening beyond loopback with no caller authentication: anyone who can reach this "
        "port can read and change AgLeader credentials; set --api_keys_file or --client_ca_file",
        {{"listen", config.listen}});
  }

  // Reflection (v1 and v1alpha) from the descriptors embedded at build time,
  // which keep the proto's comments and json_name and describe health too.
  absl::StatusOr<std::unique_ptr<reflection::ServerReflection>> server_reflection =
      reflection::ServerReflection::FromEmbedded();
  if (!server_reflection.ok()) return server_reflection.status();
  app->reflection_ = *std::move(server_reflection);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  app->reflection_->RegisterOn(&builder);
  builder.AddListeningPort(config.listen, *listener_credentials, &app->port_);
  builder.RegisterService(app->service_.get());
  app->service_->RegisterWatchOn(builder);
  builder.SetMaxReceiveMessageSize(kMaxRequestBytes);
  if (config.max_connection_age > absl::ZeroDuration()) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                               static_cast<int>(absl::ToInt64Milliseconds(
                                   std::min(config.max_connection_age, absl::Hours(24 * 20)))));
    // Calls on a closing connection get this long to finish.
    // (Watch streams then end UNAVAILABLE and resume elsewhere with their
    // resume_token.)
    builder.AddChannelArgument(
        GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
        static_cast<int>(absl::ToInt64Milliseconds(config.max_connection_age_grace)));
  }
  ApplyConnectionLimits(config.connection_limits, builder);
  if (config.keepalive_time > absl::ZeroDuration()) {
    // Pings only while calls are open (an idle WatchCredentials stream is
    // one), so proxies keep the connection and a vanished caller is noticed.
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                               static_cast<int>(absl::ToInt64Milliseconds(config.keepalive_time)));
    builder.AddChannelArgument(
        GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
        static_cast<int>(absl::ToInt64Milliseconds(config.keepalive_timeout)));
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
    // A stream with no change for hours sends no data: keep pinging anyway.
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  }
  // Callers may ping idle streams every 10 s without being sent away.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10 * 1000);
  app->server_ = builder.BuildAndStart();
  if (app->server_ == nullptr || app->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("could not listen on ", config.listen,
                                               " (address in use, or not a valid host:port?)"));
  }
  app->service_->StartWatch(app->server_.get());
  grpc::HealthCheckServiceInterface* health = app->server_->GetHealthCheckService();
  health->SetServingStatus(true);
  health->SetServingStatus(kServiceName, true);
  // From here on, leaf-api transitions (reported on transport threads) go
  // straight to the health service.
  {
    absl::MutexLock lock(&app->health_mu_);
    app->health_ = health;
    health->SetServingStatus(kLeafHealthName, app->leaf_health_->serving());
  }
  Log(LogLevel::kInfo, "serving",
      {{"listen", config.listen},
       {"port", app->port_},
       {"leaf_api_url", config.leaf_api_url},
       {"leaf_auth", config.leaf_token.empty() ? "login" : "static token"},
       {"allow_full_view", config.allow_full_view},
       {"metrics_port", app->metrics_port()}});
  return app;
}

std::string App::target() const {
  std::string host = config_.listen.substr(0, config_.listen.rfind(':'));
  if (host.empty() || host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
  return absl::StrCat(host, ":", port_);
}

absl::Status App::ShutdownStatus() {
  return MakeError(reasons::kShuttingDown,
                   "this server is shutting down and its grace period ended before Leaf "
                   "answered; retry (another replica will answer)");
}

absl::Status App::ServeMetrics() {
  httpd::HttpServerOptions http;
  http.name = "metrics";
  http.listen = config_.metrics_listen;
  http.limits = config_.http_limits;
  Metrics* metrics = metrics_.get();
  http.routes.push_back({"GET", "/metrics", 0, [metrics](const httpd::HttpRequest&) {
                           httpd::HttpResponse r;
                           r.content_type = "text/plain; version=0.0.4; charset=utf-8";
                           r.body = metrics->Text();
                           return r;
                         }});
  http.on_refused = [metrics](absl::string_view r) { metrics->HttpRefused("metrics", r); };
  absl::StatusOr<std::unique_ptr<httpd::HttpServer>> server =
      httpd::HttpServer::Start(std::move(http));
  if (!server.ok()) return server.status();
  metrics_server_ = *std::move(server);
  return absl::OkStatus();
}

absl::Status App::StartWatch() {
  const ServerConfig& config = config_;
  watch::PollerOptions poll;
  poll.interval = config.watch_poll_interval;
  poll.jitter = config.watch_poll_jitter;
  poll.max_backoff = config.watch_max_backoff;
  poll.min_prompt_interval = config.alerts_min_prompt_interval;
  budget::RequestBudget* leaf_budget = budget_.get();
  if (!leaf_budget->unlimited()) {
    // Polls spend their share of the rate in force (lower after Leaf's
    // 429s); callers, alerts and bulk work keep the rest.
    poll.requests_per_minute = [leaf_budget] {
      return leaf_budget->requests_per_minute() * watch::kPollBudgetShare;
    };
  }
  Metrics* metrics = metrics_.get();
  // The poll interval in force, for the fleet's lease time.
  auto effective_ms =
      std::make_shared<std::atomic<std::int64_t>>(absl::ToInt64Milliseconds(poll.interval));
  // Called under the poller's lock: only sets the gauge.
  poll.on_effective_interval = [metrics, effective_ms](absl::Duration d) {
    metrics->WatchEffectivePollInterval(d);
    effective_ms->store(absl::ToInt64Milliseconds(d));
  };
  credential_reader_ =
      std::make_unique<watch::LeafCredentialReader>(leaf_.get(), config.upstream_timeout);
  watch::Poller::Fetch fetch = credential_reader_->AsFetch();
  if (redis_ != nullptr) {
    // The holder renews its lease at each read: two intervals and a margin
    // survive a late read; a replica that died hands over after that.
    absl::StatusOr<watch::Poller::Fetch> shared = FleetPolls(std::move(fetch), [effective_ms] {
      return 2 * absl::Milliseconds(effective_ms->load()) + absl::Seconds(2);
    });
    if (!shared.ok()) return shared.status();
    fetch = *std::move(shared);
  }
  poller_ = std::make_unique<watch::Poller>(scheduler_.get(), std::move(fetch), poll);
  if (redis_ == nullptr) {
    // (Fleet mode reads users one by one under their lease, so that one
    // replica reads each: docs/fleet.md.)
    watch::SweeperOptions sweep;
    sweep.page_timeout = config.upstream_timeout;
    sweeper_ = std::make_unique<watch::Sweeper>(scheduler_.get(), poller_.get(),
                                                credential_reader_->AsSweepFetch(), sweep);
  }
  watch_metrics_ = std::make_unique<watch::MetricsObserver>(metrics_.get());
  if (absl::Status st = StartAlertBus(); !st.ok()) return st;
  watch::HubOptions hub;
  hub.limits.max_streams = config.watch_max_streams;
  hub.limits.max_users = config.watch_max_users;
  hub.limits.max_users_per_caller = config.watch_max_users_per_caller;
  hub.history = static_cast<size_t>(config.watch_resume_history);
  hub.observer = watch_metrics_.get();
  hub.alerts = alert_bus_.get();
  watch::PollControl* polls = poller_.get();
  if (poll_lease_ != nullptr) {
    fleet_poll_control_ = std::make_unique<fleet::FleetPollControl>(polls, poll_lease_.get());
    polls = fleet_poll_control_.get();
    // Tokens name the fleet's change stream, valid on every replica.
    hub.fleet = true;
    hub.log_id = "fleet-leaf";
  }
  watch_hub_ = std::make_unique<watch::PollingWatchHub>(polls, hub);
  poller_->SetSink(watch_hub_->PollSink());
  if (sweeper_ != nullptr) sweeper_->Start();
  if (absl::Status st = StartChangeReader(); !st.ok()) return st;
  service_->SetWatchHub(watch_hub_.get());

  if (!config.alerts_listen.empty()) {
    alerts::AlertListenerOptions listener;
    listener.listen = config.alerts_listen;
    listener.secret = config.alerts_secret;
    listener.max_body_bytes = static_cast<size_t>(config.alerts_max_body_bytes);
    listener.limits = config.http_limits;
    listener.alerts = alert_bus_.get();
    listener.on_result = [metrics](absl::string_view r) { metrics->AlertReceived(r); };
    listener.on_refused = [metrics](absl::string_view r) { metrics->HttpRefused("alerts", r); };
    absl::StatusOr<std::unique_ptr<alerts::AlertListener>> started =
        alerts::AlertListener::Start(std::move(listener));
    if (!started.ok()) return started.status();
    alert_listener_ = *std::move(started);
  }
  if (!config.alerts_public_url.empty()) {
    alerts::WebhookRegistrarOptions hook;
    hook.leaf_api_url = config.leaf_api_url;
    hook.public_url = config.alerts_public_url;
    hook.secret = config.alerts_secret;
    hook.timeout = config.upstream_timeout;
    webhook_registrar_ = std::make_unique<alerts::WebhookRegistrar>(
        leaf_http_.get(), tokens_.get(), scheduler_.get(), std::move(hook));
    webhook_registrar_->Start();
  }
  return absl::OkStatus();
}

absl::Status App::WatchShutdownStatus() {
  return MakeError(reasons::kShuttingDown,
                   "this server is shutting down; watch again (another replica will answer)");
}

void App::Shutdown(absl::Duration grace) {
  if (server_ == nullptr || shut_down_.exchange(true)) return;
  const absl::Time deadline = absl::Now() + grace;
  {
    absl::MutexLock lock(&health_mu_);
    if (health_ != nullptr) health_->SetServingStatus(false);
  }
  service_->StartDraining();
  // First the HTTP door: closed at once, whatever its peers are doing (a
  // slow sender must not delay the rest of the shutdown).
  if (alert_listener_) alert_listener_->Stop();
  if (metrics_server_) metrics_server_->Stop();
  if (connect_pages_) connect_pages_->Stop();
  if (webhook_registrar_) webhook_registrar_->Stop();
  // Watch streams never end by themselves: end them now, so callers
  // reconnect elsewhere while unary calls use the grace.
  if (watch_hub_) watch_hub_->Shutdown(WatchShutdownStatus());
  Log(LogLevel::kInfo, "shutting down",
      {{"grace_ms", absl::ToInt64Milliseconds(grace)},
       {"calls_in_flight", service_->active_calls()}});
  // Our calls get the grace period. Streams that never end by themselves
  // (health Watch) must not hold the process for all of it: once our calls
  // are done, whatever is left is cancelled.
  while (service_->active_calls() > 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  if (service_->active_calls() > 0) {
    // Ended by us, with a status that says why, before gRPC would cancel
    // them with a bare "Cancelling all calls".
    Log(LogLevel::kWarning, "shutdown grace over; ending the calls still waiting on Leaf",
        {{"calls_in_flight", service_->active_calls()}});
    leaf_->AbortAll(ShutdownStatus());
    const absl::Time flushed = absl::Now() + absl::Milliseconds(500);
    while (service_->active_calls() > 0 && absl::Now() < flushed) {
      absl::SleepFor(absl::Milliseconds(5));
    }
  }
  server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Milliseconds(100)));
  server_->Wait();
  // Every call has ended: the watch method's queue drains, its thread ends.
  service_->StopWatch();
  absl::MutexLock lock(&health_mu_);
  health_ = nullptr;
}

App::~App() {
  Shutdown(absl::ZeroDuration());
  server_.reset();
  // Waits for a callback already inside it; a login that ends later (when
  // the transport goes, below) finds it gone.
  webhook_registrar_.reset();
  alert_listener_.reset();
  metrics_server_.reset();
  connect_pages_.reset();
  // Cancels its timers (before the scheduler goes) and its reads; a read's
  // large body waiting for a completion thread is completed, cancelled, on
  // this thread before its Cancel returns (CompletionPool::Cancel), so no
  // completion thread reaches the poller afterwards. The Leaf client's pool
  // runs what is left (cancelled) when the client goes, after the transport.
  // The sweeper reports into the poller: it goes first.
  if (heartbeat_ != nullptr) heartbeat_->Stop();
  sweeper_.reset();
  poller_.reset();
  // The change stream's reader hands entries to the hub: it stops first.
  change_reader_.reset();
  // After the poller, which waits for a read already reporting to the
  // hub (its sink) before it goes; it leaves the alert bus.
  watch_hub_.reset();
  // Waits in the budget end (SHUTTING_DOWN) and its timers go, before the
  // scheduler does.
  budget_->Shutdown();
  // Pending retries are dropped (no call waits on them any more), then the
  // transport goes: its destructor completes every transfer still pending
  // (e.g. a login nobody waits for) while the objects its callbacks reach are
  // alive.
  scheduler_.reset();
  http_.reset();
}

}  // namespace leafsvc
