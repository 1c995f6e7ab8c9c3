// The server's configuration: one flag table (each flag with an environment
// twin and a default), shown by --help and mirrored in docs/configuration.md.
#ifndef SERVER_CONFIG_CONFIG_H_
#define SERVER_CONFIG_CONFIG_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/budget/request_budget.h"
#include "server/config/flags.h"
#include "server/connect/connect_flags.h"
#include "server/httpd/http_limits.h"
#include "server/observability/log.h"
#include "server/secrets/secret.h"
#include "server/security/connection_limits.h"
#include "server/security/listener_security.h"

namespace leafsvc {

namespace providers {
struct ProviderSpec;
}  // namespace providers

// Shortest --alerts_secret and --page_token_key accepted: both are HMAC-SHA256
// keys, and a shorter one is within reach of an offline guess.
inline constexpr std::size_t kMinSecretKeyBytes = 32;

struct ServerConfig {
  // The Leaf provider served (not a flag: the public API is AgLeader's;
  // tests plug in others). Null: providers::AgLeaderSpec(). Must outlive
  // the App.
  const providers::ProviderSpec* provider = nullptr;
  std::string listen = "127.0.0.1:50051";
  std::string leaf_api_url = "https://api.withleaf.io";
  Secret leaf_token;
  std::string leaf_username;
  Secret leaf_password;
  absl::Duration upstream_timeout = absl::Seconds(10);
  absl::Duration connect_timeout = absl::Seconds(5);
  std::size_t max_response_bytes = 4 << 20;
  int max_connections_per_host = 64;
  int max_attempts = 3;
  int max_upstream_in_flight = 1024;
  int batch_fan_out = 8;
  // Every request to Leaf asks this budget first (docs/rate-limits.md).
  budget::RequestBudgetOptions leaf_budget;
  absl::Duration leaf_health_window = absl::Seconds(30);
  std::string leaf_ca_file;
  bool allow_full_view = false;
  bool allow_caller_leaf_token = false;
  std::string page_token_key;
  absl::Duration shutdown_grace = absl::Seconds(10);
  // 0: off. See LeafClientOptions::first_byte_timeout.
  absl::Duration upstream_first_byte_timeout = absl::Seconds(5);
  absl::Duration leaf_login_backoff = absl::Seconds(1);
  absl::Duration leaf_login_max_backoff = absl::Minutes(5);
  absl::Duration max_connection_age = absl::Minutes(30);  // 0: never; the flag's default
  // Calls still open on a connection closed for its age get this long.
  absl::Duration max_connection_age_grace = absl::Minutes(1);
  LogLevel log_level = LogLevel::kInfo;
  std::string metrics_listen;  // empty: no /metrics endpoint
  ListenerSecurityOptions security;
  // WatchCredentials and Leaf alerts (docs/watch.md).
  absl::Duration watch_poll_interval = absl::Seconds(30);
  absl::Duration watch_poll_jitter = absl::Seconds(5);
  absl::Duration watch_max_backoff = absl::Minutes(5);
  int watch_max_streams = 10000;
  int watch_max_users = 10000;
  int watch_max_users_per_caller = 1000;  // 0: no per-caller cap
  int watch_resume_history = 10000;       // changes kept for resumes
  absl::Duration alerts_min_prompt_interval = absl::Seconds(5);
  std::string alerts_listen;      // empty: no alert listener
  std::string alerts_public_url;  // empty: the webhook is not registered
  Secret alerts_secret;
  // Fleet mode (docs/fleet.md); empty: this replica runs alone. The URL may
  // hold the password, so both are secrets.
  Secret redis_url;
  Secret redis_password;
  // Fleet mode: replicas sharing Redis (each one's budget while it is
  // unreachable is the fleet's divided by this).
  int fleet_size_hint = 1;
  int alerts_max_body_bytes = 64 * 1024;
  // HTTP/2 keepalive pings on connections with open calls; 0: off.
  absl::Duration keepalive_time = absl::Minutes(1);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  ConnectionLimits connection_limits;
  // Connect links (docs/connect.md); nullopt: off.
  std::optional<connect::ConnectConfig> connect;
  httpd::HttpLimits http_limits;  // every HTTP listener (alerts, metrics)
};

// The flag table with its defaults.
FlagSet ServerFlags();

// Parses argv and the environment. On --help, returns the help text as a
// NOT_FOUND-free OK with `help` set; on a bad flag or an incomplete
// configuration, INVALID_ARGUMENT saying what to fix.
struct ParsedConfig {
  ServerConfig config;
  std::string help;  // non-empty when --help was given
};
absl::StatusOr<ParsedConfig> ParseServerConfig(int argc, char** argv);

}  // namespace leafsvc

#endif  // SERVER_CONFIG_CONFIG_H_
