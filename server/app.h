// Wires the service together (transport, token source, Leaf client, gRPC
// server with health and reflection) from a ServerConfig. main() and the
// in-process integration tests both start the service through App.
#ifndef SERVER_APP_H_
#define SERVER_APP_H_

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/alerts/alert_listener.h"
#include "server/alerts/webhook_registrar.h"
#include "server/budget/budgeted_http_client.h"
#include "server/budget/request_budget.h"
#include "server/config/config.h"
#include "server/connect/connect_service.h"
#include "server/connect/link_store.h"
#include "server/edge/service.h"
#include "server/fleet/change_stream_reader.h"
#include "server/fleet/fleet_fetch.h"
#include "server/fleet/fleet_limiter.h"
#include "server/fleet/poll_lease.h"
#include "server/fleet/redis_alert_bus.h"
#include "server/fleet/redis_client.h"
#include "server/fleet/redis_url.h"
#include "server/fleet/replica_heartbeat.h"
#include "server/fleet/shared_watch_state.h"
#include "server/http/curl_http_client.h"
#include "server/httpd/http_server.h"
#include "server/leaf/leaf_client.h"
#include "server/leaf/token_source.h"
#include "server/observability/metrics.h"
#include "server/observability/upstream_health.h"
#include "server/platform/scheduler.h"
#include "server/reflection/reflection_service.h"
#include "server/watch/alert_bus.h"
#include "server/watch/leaf_credential_reader.h"
#include "server/watch/metrics_observer.h"
#include "server/watch/poller.h"
#include "server/watch/polling_watch_hub.h"
#include "server/watch/sweeper.h"

namespace leafsvc {

// Health service name that reports this service (besides the overall "").
inline constexpr char kServiceName[] = "leaf.agleader.v1.AgLeaderCredentials";
// Health service name that reports whether Leaf itself answers.
inline constexpr char kLeafHealthName[] = "leaf-api";
// Largest request message accepted; a create request is far smaller.
inline constexpr int kMaxRequestBytes = 64 * 1024;

class App {
 public:
  // Starts serving; returns once the listening port is bound.
  static absl::StatusOr<std::unique_ptr<App>> Start(const ServerConfig& config);
  ~App();

  int port() const { return port_; }
  // The configuration it runs with, secrets wiped (see config_secrets.h).
  const ServerConfig& config() const { return config_; }
  // "127.0.0.1:<port>" style address clients can dial.
  std::string target() const;

  // Marks health NOT_SERVING, stops accepting calls, lets calls in flight
  // finish for up to `grace`, then ends the rest with UNAVAILABLE
  // SHUTTING_DOWN (full ErrorInfo) and stops the server. Idempotent.
  void Shutdown(absl::Duration grace);

  // The status calls cut short by the shutdown grace end with.
  static absl::Status ShutdownStatus();
  // The status WatchCredentials streams end with on shutdown.
  static absl::Status WatchShutdownStatus();

  // RPCs of the AgLeaderCredentials service that have not ended yet.
  int active_calls() const { return service_->active_calls(); }

  http::CurlHttpClient& http() { return *http_; }
  leaf::LeafClient& leaf() { return *leaf_; }
  Metrics& metrics() { return *metrics_; }
  // The watch hub (named registry before it was split; tests use the name).
  watch::PollingWatchHub& watch_hub() { return *watch_hub_; }
  // The port of the metrics endpoint; 0 when --metrics_listen is off.
  int metrics_port() const { return metrics_server_ ? metrics_server_->port() : 0; }
  // The port of the Leaf alert listener; 0 when --alerts_listen is off.
  int alerts_port() const { return alert_listener_ ? alert_listener_->port() : 0; }
  // The port of the grower's pages; 0 when connect links are off.
  int connect_port() const { return connect_pages_ ? connect_pages_->port() : 0; }
  // Null when connect links are off (no --agleader_public_key).
  connect::ConnectService* connect_service() { return connect_service_.get(); }
  // Null unless --alerts_public_url is set.
  alerts::WebhookRegistrar* webhook_registrar() { return webhook_registrar_.get(); }

 private:
  App() = default;
  // The watch hub, its poller, the alert bus and listener and the webhook
  // registration, as configured.
  absl::Status StartWatch();
  // Fleet mode (--redis_url): the Redis clients and the shared budget.
  absl::Status StartFleet();
  // The alert bus: local, or through the fleet's Redis (--redis_url).
  absl::Status StartAlertBus();
  // Fleet mode: the shared polls (lease, state, fetch) around `fetch`.
  absl::StatusOr<watch::Poller::Fetch> FleetPolls(watch::Poller::Fetch fetch,
                                                  std::function<absl::Duration()> lease_ttl);
  // Fleet mode: the change stream's reader, into the hub.
  absl::Status StartChangeReader();
  // GET /metrics on --metrics_listen, through the hardened HTTP listener.
  absl::Status ServeMetrics();
  // Connect links (--agleader_public_key; app_connect.cc): the link store,
  // the flow and the grower's pages.
  absl::Status StartConnect();

  ServerConfig config_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<UpstreamHealth> leaf_health_;
  std::unique_ptr<leaf::TokenSource> tokens_;
  std::unique_ptr<http::CurlHttpClient> http_;
  // Connect links. Declared before the Redis clients and the Leaf client, so
  // they go after them: both complete what is in flight when they go, and
  // those callbacks reach the flow and its store.
  std::unique_ptr<connect::LinkStore> link_store_;
  std::unique_ptr<connect::ConnectService> connect_service_;
  // Fleet mode: the shared polls' lease, state and fetch. Declared before
  // the Redis clients, so they go after them (a client completes its
  // commands, whose callbacks reach these, when it goes).
  std::unique_ptr<fleet::PollLease> poll_lease_;
  std::unique_ptr<fleet::SharedWatchState> shared_watch_state_;
  std::unique_ptr<fleet::FleetFetch> fleet_fetch_;
  // Keeps this replica's leases its own while it lives (stopped before the
  // scheduler goes).
  std::unique_ptr<fleet::ReplicaHeartbeat> heartbeat_;
  // Fleet mode: the Redis clients (each stream's reader has its own
  // connection: XREAD BLOCK holds one) and the fleet's shared budget.
  // Before the budget and the bus, which use them.
  std::unique_ptr<fleet::RedisClient> redis_;
  std::unique_ptr<fleet::RedisClient> redis_alert_reader_;
  std::unique_ptr<fleet::RedisClient> redis_change_reader_;
  std::unique_ptr<fleet::FleetLimiter> fleet_limiter_;
  // Every request to Leaf goes through leaf_http_, which sends nothing the
  // budget has not granted.
  std::unique_ptr<budget::RequestBudget> budget_;
  std::unique_ptr<budget::BudgetedHttpClient> leaf_http_;
  std::unique_ptr<leaf::LeafClient> leaf_;
  // Used by the poller, the hub and the listener below: declared first, so
  // they go last.
  std::unique_ptr<watch::LeafCredentialReader> credential_reader_;
  std::unique_ptr<watch::MetricsObserver> watch_metrics_;
  // LocalAlertBus, or in fleet mode the Redis Stream bus.
  std::unique_ptr<watch::AlertBus> alert_bus_;
  std::unique_ptr<watch::Poller> poller_;
  std::unique_ptr<watch::Sweeper> sweeper_;
  // Fleet mode: releases a user's lease when this replica stops watching
  // it (between the hub and the poller).
  std::unique_ptr<fleet::FleetPollControl> fleet_poll_control_;
  std::unique_ptr<watch::PollingWatchHub> watch_hub_;
  // Fleet mode: tails the fleet's change stream into the hub.
  std::unique_ptr<fleet::ChangeStreamReader> change_reader_;
  std::unique_ptr<alerts::AlertListener> alert_listener_;
  std::unique_ptr<httpd::HttpServer> metrics_server_;
  std::unique_ptr<httpd::HttpServer> connect_pages_;
  std::unique_ptr<alerts::WebhookRegistrar> webhook_registrar_;
  std::unique_ptr<AgLeaderCredentialsService> service_;
  std::unique_ptr<reflection::ServerReflection> reflection_;  // outlives server_
  std::unique_ptr<grpc::Server> server_;
  // Set once serving, cleared (under the lock) before the server and its
  // health service go away: a leaf-api transition reported on a transport
  // thread never reaches a destroyed health service.
  absl::Mutex health_mu_;
  grpc::HealthCheckServiceInterface* health_ ABSL_GUARDED_BY(health_mu_) = nullptr;
  int port_ = 0;
  std::atomic<bool> shut_down_{false};
};

}  // namespace leafsvc

#endif  // SERVER_APP_H_
