// Wires the service together (transport, token source, Leaf client, gRPC
// server with health and reflection) from a ServerConfig. main() and the
// in-process integration tests both start the service through App.
#ifndef SERVER_APP_H_
#define SERVER_APP_H_

#include <atomic>
#include <memory>
#include <string>

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/config.h"
#include "server/http/curl_http_client.h"
#include "server/leaf/leaf_client.h"
#include "server/leaf/token_source.h"
#include "server/metrics.h"
#include "server/service.h"
#include "server/upstream_health.h"
#include "server/util/scheduler.h"

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
  // finish for up to `grace`, then cancels the rest. Idempotent.
  void Shutdown(absl::Duration grace);

  http::CurlHttpClient& http() { return *http_; }
  leaf::LeafClient& leaf() { return *leaf_; }
  Metrics& metrics() { return *metrics_; }

 private:
  App() = default;

  ServerConfig config_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<UpstreamHealth> leaf_health_;
  std::unique_ptr<leaf::TokenSource> tokens_;
  std::unique_ptr<http::CurlHttpClient> http_;
  std::unique_ptr<leaf::LeafClient> leaf_;
  std::unique_ptr<AgLeaderCredentialsService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::atomic<grpc::HealthCheckServiceInterface*> health_{nullptr};
  int port_ = 0;
  std::atomic<bool> shut_down_{false};
};

}  // namespace leafsvc

#endif  // SERVER_APP_H_
