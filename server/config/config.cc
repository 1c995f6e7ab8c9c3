#include "server/config/config.h"

#include <tuple>

#include "absl/strings/str_cat.h"
#include "server/budget/budget_flags.h"
#include "server/config/flag_file.h"
#include "server/connect/connect_flags.h"
#include "server/fleet/redis_url.h"

namespace leafsvc {

FlagSet ServerFlags() {
  using T = FlagSet::Type;
  FlagSet f("AGLEADER_");
  f.Add("listen", T::kString, "127.0.0.1:50051",
        "gRPC listen address, host:port (port 0 picks a free port)");
  f.Add("leaf_api_url", T::kString, "https://api.withleaf.io",
        "Leaf API gateway URL (scheme and host); the bundled emulator is http://127.0.0.1:8080");
  f.Add("leaf_token", T::kString, "",
        "a Leaf API token (JWT) used as is; alternative to --leaf_username/--leaf_password",
        /*secret=*/true);
  f.Add(
      "leaf_username", T::kString, "",
      "Leaf account for POST /api/authenticate; the token is cached and renewed before it expires");
  f.Add("leaf_password", T::kString, "",
        "password of --leaf_username (prefer the environment variable or --leaf_password_file)",
        /*secret=*/true);
  f.Add("leaf_token_file", T::kString, "",
        "file holding the Leaf API token (one line), instead of --leaf_token");
  f.Add("leaf_password_file", T::kString, "",
        "file holding the Leaf password (one line), instead of --leaf_password");
  f.Add("allow_caller_leaf_token", T::kBool, "false",
        "let a caller send its own Leaf token in the x-leaf-token metadata key, used instead of "
        "the service's for that call (the caller's authorization metadata is never forwarded)");
  f.Add("upstream_timeout", T::kDuration, "10s",
        "longest time one call may spend on Leaf; the caller's gRPC deadline caps it further");
  f.Add("connect_timeout", T::kDuration, "5s", "longest time to open a connection to Leaf");
  f.Add("max_response_bytes", T::kInt, "4194304",
        "Leaf responses larger than this are refused (INTERNAL, LEAF_RESPONSE_TOO_LARGE)");
  f.Add("max_connections_per_host", T::kInt, "64",
        "most simultaneous connections to Leaf; further requests wait for a free one");
  f.Add("max_attempts", T::kInt, "3",
        "HTTP attempts per call for GET and DELETE (and a POST that never left) on a "
        "connection failure, 429, 502, 503 or 504; 1 disables retries");
  f.Add("max_upstream_in_flight", T::kInt, "1024",
        "most calls waiting on Leaf at once; beyond it calls fail fast with RESOURCE_EXHAUSTED");
  f.Add("leaf_health_window", T::kDuration, "30s",
        "the \"leaf-api\" health status turns NOT_SERVING after Leaf has failed for this long");
  f.Add("leaf_ca_file", T::kString, "",
        "PEM CA bundle to verify Leaf's TLS certificate with, instead of the system store");
  f.Add("allow_full_view", T::kBool, "false",
        "grant CREDENTIALS_VIEW_FULL (secret values in responses); off: PERMISSION_DENIED");
  f.Add("page_token_key", T::kString, "",
        "key that signs ListCredentialEvents page tokens, at least 32 bytes; set the same value "
        "on every replica (empty: each process draws a random key and warns)",
        /*secret=*/true);
  f.Add("max_connection_age", T::kDuration, "30m",
        "close client connections after this long (gracefully), so clients re-resolve DNS and "
        "spread over new replicas; 0: never");
  f.Add("max_connection_age_grace", T::kDuration, "1m",
        "calls still open on a connection closed by --max_connection_age get this long to "
        "finish; WatchCredentials streams still open then end with UNAVAILABLE and resume on "
        "another replica with their resume_token");
  f.Add("shutdown_grace", T::kDuration, "10s",
        "on SIGTERM/SIGINT, how long calls in flight may still finish");
  f.Add("log_level", T::kString, "info", "debug, info, warning or error");
  f.Add("metrics_listen", T::kString, "",
        "host:port of a Prometheus /metrics endpoint (e.g. 0.0.0.0:9464); empty: none");
  f.Add("upstream_first_byte_timeout", T::kDuration, "5s",
        "a GET or DELETE sent over a reused connection that shows no byte of an answer this long "
        "is sent once more on a new connection (a dead keep-alive connection must not cost a "
        "call its deadline); 0: off");
  f.Add("leaf_login_backoff", T::kDuration, "1s",
        "after a failed Leaf login, wait this long before the next (doubling, jittered); callers "
        "meanwhile fail at once with RetryInfo instead of each starting a login");
  f.Add("leaf_login_max_backoff", T::kDuration, "5m", "the longest wait between failed logins");
  f.Add("batch_fan_out", T::kInt, "8",
        "BatchGetCredentials: most Leaf calls in flight for one batch (they count against "
        "--max_upstream_in_flight and share the connection pool with every other call)");
  f.Add("watch_poll_interval", T::kDuration, "30s",
        "WatchCredentials reads each watched user from Leaf this often (once per user however "
        "many streams watch it); at least 1s");
  f.Add("watch_poll_jitter", T::kDuration, "5s",
        "a random share of this is added to each wait, so users watched together are not read "
        "in lockstep");
  f.Add("watch_max_backoff", T::kDuration, "5m",
        "while reads of a watched user fail, the wait doubles from --watch_poll_interval up to "
        "this");
  f.Add("watch_max_streams", T::kInt, "10000",
        "most WatchCredentials streams open at once; beyond it RESOURCE_EXHAUSTED");
  f.Add("watch_max_users", T::kInt, "10000",
        "most distinct Leaf users watched at once; beyond it RESOURCE_EXHAUSTED");
  f.Add("watch_max_users_per_caller", T::kInt, "1000",
        "most distinct Leaf users one caller (its API key, else its IP address) watches at "
        "once, so no caller takes every --watch_max_users slot; beyond it RESOURCE_EXHAUSTED; "
        "0: no per-caller cap");
  f.Add("watch_resume_history", T::kInt, "10000",
        "changes kept so a WatchCredentials stream that ended resumes with its resume_token "
        "(older tokens get a RESYNC snapshot); also the most users whose last state is kept "
        "after their last watcher left");
  f.Add("alerts_min_prompt_interval", T::kDuration, "5s",
        "a Leaf alert re-reads its user at most this often (from the start of the user's last "
        "read); alerts meanwhile, replays and alerts while the user's reads fail cost nothing");
  f.Add("alerts_listen", T::kString, "",
        "host:port of an HTTP listener for Leaf's webhook alerts (a prompt to re-read the "
        "credential at once); empty: off. Needs --alerts_secret");
  f.Add("alerts_public_url", T::kString, "",
        "the https:// URL where Leaf reaches --alerts_listen; when set, the webhook for "
        "credentialsUnauthenticated and credentialsLimitedPermission is registered at start");
  f.Add("alerts_secret", T::kString, "",
        "the webhook secret Leaf signs alerts with (X-Leaf-Signature), at least 32 bytes; "
        "prefer the environment variable or --alerts_secret_file",
        /*secret=*/true);
  f.Add("alerts_secret_file", T::kString, "",
        "file holding the webhook secret (one line), instead of --alerts_secret");
  f.Add("alerts_max_body_bytes", T::kInt, "65536",
        "alert bodies larger than this are refused with 413");
  f.Add("redis_url", T::kString, "",
        "fleet mode: the Redis the replicas share, redis://host:port/db (docs/fleet.md); Leaf "
        "alerts received by one replica then reach the watchers of every replica; empty: this "
        "replica runs alone",
        /*secret=*/true);
  f.Add("redis_password", T::kString, "",
        "password of --redis_url's Redis (prefer the environment variable or "
        "--redis_password_file)",
        /*secret=*/true);
  f.Add("redis_password_file", T::kString, "",
        "file holding the Redis password (one line), instead of --redis_password");
  f.Add("fleet_size_hint", T::kInt, "1",
        "fleet mode: how many replicas share --redis_url; while Redis is unreachable each "
        "replica spends --leaf_requests_per_minute / this alone");
  f.Add("keepalive_time", T::kDuration, "1m",
        "send an HTTP/2 ping on a connection with open calls after this long without traffic, "
        "so idle WatchCredentials streams survive proxies and dead peers are found; 0: off");
  f.Add("keepalive_timeout", T::kDuration, "20s",
        "close the connection when a keepalive ping is not answered within this");
  budget::AddRequestBudgetFlags(f);
  AddListenerSecurityFlags(f);
  AddConnectionLimitFlags(f);
  httpd::AddHttpLimitFlags(f);
  connect::AddConnectFlags(f);
  const absl::Duration kYear = absl::Hours(24 * 365);
  f.SetRange("upstream_timeout", absl::Milliseconds(10), absl::Hours(1));
  f.SetRange("connect_timeout", absl::Milliseconds(10), absl::Minutes(10));
  f.SetRange("max_response_bytes", 1024, int64_t{1} << 30);
  f.SetRange("max_connections_per_host", 1, 10000);
  f.SetRange("max_attempts", 1, 10);
  f.SetRange("max_upstream_in_flight", 1, 1000000);
  f.SetRange("batch_fan_out", 1, 64);
  f.SetRange("leaf_health_window", absl::Seconds(1), absl::Hours(24));
  f.SetRange("max_connection_age", absl::ZeroDuration(), kYear);
  f.SetRange("shutdown_grace", absl::ZeroDuration(), absl::Hours(1));
  f.SetRange("max_connection_age_grace", absl::ZeroDuration(), absl::Hours(24));
  f.SetRange("fleet_size_hint", 1, 1000);
  f.SetRange("upstream_first_byte_timeout", absl::ZeroDuration(), absl::Hours(1));
  f.SetRange("leaf_login_backoff", absl::Milliseconds(10), absl::Hours(1));
  f.SetRange("leaf_login_max_backoff", absl::Milliseconds(10), absl::Hours(24));
  f.SetRange("watch_poll_interval", absl::Seconds(1), absl::Hours(24));
  f.SetRange("watch_poll_jitter", absl::ZeroDuration(), absl::Hours(1));
  f.SetRange("watch_max_backoff", absl::Seconds(1), absl::Hours(24));
  f.SetRange("watch_max_streams", 1, 1000000);
  f.SetRange("watch_max_users", 1, 1000000);
  f.SetRange("watch_max_users_per_caller", 0, 1000000);
  f.SetRange("watch_resume_history", 1, 10000000);
  f.SetRange("alerts_min_prompt_interval", absl::ZeroDuration(), absl::Hours(1));
  f.SetRange("alerts_max_body_bytes", 1024, 16 << 20);
  f.SetRange("keepalive_time", absl::ZeroDuration(), absl::Hours(24));
  f.SetRange("keepalive_timeout", absl::Seconds(1), absl::Minutes(10));
  return f;
}

absl::StatusOr<ParsedConfig> ParseServerConfig(int argc, char** argv) {
  FlagSet f = ServerFlags();
  if (absl::Status st = f.Parse(argc, argv); !st.ok()) return st;
  ParsedConfig parsed;
  if (f.help_requested()) {
    parsed.help = f.Help(
        "agleader_credentials_server: the AgLeaderCredentials gRPC service, fronting Leaf's "
        "REST API.\nUsage: agleader_credentials_server [flags]");
    return parsed;
  }
  if (!f.positional().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument \"", f.positional()[0], "\" (see --help)"));
  }
  ServerConfig& c = parsed.config;
  c.listen = f.GetString("listen");
  c.leaf_api_url = f.GetString("leaf_api_url");
  c.leaf_token = Secret(f.GetString("leaf_token"));
  c.leaf_username = f.GetString("leaf_username");
  c.leaf_password = Secret(f.GetString("leaf_password"));
  c.alerts_secret = Secret(f.GetString("alerts_secret"));
  c.redis_url = Secret(f.GetString("redis_url"));
  c.redis_password = Secret(f.GetString("redis_password"));
  c.fleet_size_hint = static_cast<int>(f.GetInt("fleet_size_hint"));
  for (const auto& [flag, file_flag, target] :
       {std::make_tuple("leaf_token", "leaf_token_file", &c.leaf_token),
        std::make_tuple("leaf_password", "leaf_password_file", &c.leaf_password),
        std::make_tuple("alerts_secret", "alerts_secret_file", &c.alerts_secret),
        std::make_tuple("redis_password", "redis_password_file", &c.redis_password)}) {
    const std::string path = f.GetString(file_flag);
    if (path.empty()) continue;
    if (!target->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("set either --", flag, " or --", file_flag, ", not both"));
    }
    absl::StatusOr<std::string> value = ReadSecretFlagFile(file_flag, path);
    if (!value.ok()) return value.status();
    *target = Secret(*std::move(value));
  }
  c.allow_caller_leaf_token = f.GetBool("allow_caller_leaf_token");
  c.upstream_timeout = f.GetDuration("upstream_timeout");
  c.connect_timeout = f.GetDuration("connect_timeout");
  c.max_response_bytes = static_cast<std::size_t>(f.GetInt("max_response_bytes"));
  c.max_connections_per_host = static_cast<int>(f.GetInt("max_connections_per_host"));
  c.max_attempts = static_cast<int>(f.GetInt("max_attempts"));
  c.max_upstream_in_flight = static_cast<int>(f.GetInt("max_upstream_in_flight"));
  c.batch_fan_out = static_cast<int>(f.GetInt("batch_fan_out"));
  c.leaf_health_window = f.GetDuration("leaf_health_window");
  c.leaf_ca_file = f.GetString("leaf_ca_file");
  c.allow_full_view = f.GetBool("allow_full_view");
  c.page_token_key = f.GetString("page_token_key");  // empty: random per process
  c.shutdown_grace = f.GetDuration("shutdown_grace");
  c.upstream_first_byte_timeout = f.GetDuration("upstream_first_byte_timeout");
  c.leaf_login_backoff = f.GetDuration("leaf_login_backoff");
  c.leaf_login_max_backoff = f.GetDuration("leaf_login_max_backoff");
  if (c.leaf_login_max_backoff < c.leaf_login_backoff) {
    return absl::InvalidArgumentError(
        "--leaf_login_max_backoff must be at least --leaf_login_backoff");
  }
  c.max_connection_age = f.GetDuration("max_connection_age");
  c.max_connection_age_grace = f.GetDuration("max_connection_age_grace");
  c.metrics_listen = f.GetString("metrics_listen");
  c.watch_poll_interval = f.GetDuration("watch_poll_interval");
  c.watch_poll_jitter = f.GetDuration("watch_poll_jitter");
  c.watch_max_backoff = f.GetDuration("watch_max_backoff");
  c.watch_max_streams = static_cast<int>(f.GetInt("watch_max_streams"));
  c.watch_max_users = static_cast<int>(f.GetInt("watch_max_users"));
  c.watch_max_users_per_caller = static_cast<int>(f.GetInt("watch_max_users_per_caller"));
  c.watch_resume_history = static_cast<int>(f.GetInt("watch_resume_history"));
  c.alerts_min_prompt_interval = f.GetDuration("alerts_min_prompt_interval");
  c.alerts_listen = f.GetString("alerts_listen");
  c.alerts_public_url = f.GetString("alerts_public_url");
  c.alerts_max_body_bytes = static_cast<int>(f.GetInt("alerts_max_body_bytes"));
  c.keepalive_time = f.GetDuration("keepalive_time");
  c.keepalive_timeout = f.GetDuration("keepalive_timeout");
  if ((!c.alerts_listen.empty() || !c.alerts_public_url.empty()) && c.alerts_secret.empty()) {
    return absl::InvalidArgumentError(
        "--alerts_listen and --alerts_public_url need the webhook secret: set "
        "AGLEADER_ALERTS_SECRET or --alerts_secret_file");
  }
  // The values are never quoted: only the flag and the minimum.
  if ((!c.alerts_listen.empty() || !c.alerts_public_url.empty()) &&
      c.alerts_secret.Reveal().size() < kMinSecretKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--alerts_secret (AGLEADER_ALERTS_SECRET, --alerts_secret_file) must be at least ",
        kMinSecretKeyBytes, " bytes; draw one with: openssl rand -hex 32"));
  }
  if (!c.page_token_key.empty() && c.page_token_key.size() < kMinSecretKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("--page_token_key (AGLEADER_PAGE_TOKEN_KEY) must be at least ",
                     kMinSecretKeyBytes, " bytes; draw one with: openssl rand -hex 32"));
  }
  if (!c.alerts_public_url.empty() && c.alerts_public_url.rfind("https://", 0) != 0 &&
      c.alerts_public_url.rfind("http://", 0) != 0) {
    return absl::InvalidArgumentError("--alerts_public_url must start with https://");
  }
  if (!ParseLogLevel(f.GetString("log_level"), &c.log_level)) {
    return absl::InvalidArgumentError("--log_level must be debug, info, warning or error");
  }

  if (!c.redis_url.empty()) {
    absl::StatusOr<fleet::RedisUrl> redis = fleet::ParseRedisUrl(c.redis_url.Reveal());
    if (!redis.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--redis_url: ", redis.status().message()));
    }
    if (!redis->password.empty() && !c.redis_password.empty()) {
      return absl::InvalidArgumentError(
          "the Redis password is set twice: in --redis_url and in --redis_password (or its "
          "file or environment variable); keep one");
    }
  } else if (!c.redis_password.empty()) {
    return absl::InvalidArgumentError("--redis_password needs --redis_url");
  }
  absl::StatusOr<budget::RequestBudgetOptions> leaf_budget = budget::ReadRequestBudgetFlags(f);
  if (!leaf_budget.ok()) return leaf_budget.status();
  c.leaf_budget = *std::move(leaf_budget);

  absl::StatusOr<ListenerSecurityOptions> security = ReadListenerSecurityFlags(f);
  if (!security.ok()) return security.status();
  c.security = *std::move(security);
  absl::StatusOr<ConnectionLimits> limits = ReadConnectionLimitFlags(f);
  if (!limits.ok()) return limits.status();
  c.connection_limits = *limits;
  c.http_limits = httpd::ReadHttpLimitFlags(f);
  absl::StatusOr<std::optional<connect::ConnectConfig>> links = connect::ReadConnectFlags(f);
  if (!links.ok()) return links.status();
  c.connect = *std::move(links);

  const bool has_token = !c.leaf_token.empty();
  const bool has_login = !c.leaf_username.empty() || !c.leaf_password.empty();
  if (has_token && has_login) {
    return absl::InvalidArgumentError(
        "set either --leaf_token or --leaf_username/--leaf_password, not both");
  }
  if (!has_token && !has_login) {
    return absl::InvalidArgumentError(
        "no Leaf credentials: set AGLEADER_LEAF_TOKEN, or AGLEADER_LEAF_USERNAME and "
        "AGLEADER_LEAF_PASSWORD (or the matching flags)");
  }
  if (has_login && (c.leaf_username.empty() || c.leaf_password.empty())) {
    return absl::InvalidArgumentError("--leaf_username and --leaf_password must be set together");
  }
  if (c.leaf_api_url.rfind("http://", 0) != 0 && c.leaf_api_url.rfind("https://", 0) != 0) {
    return absl::InvalidArgumentError("--leaf_api_url must start with http:// or https://");
  }
  if (c.upstream_timeout <= absl::ZeroDuration() || c.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--upstream_timeout and --connect_timeout must be positive");
  }
  if (c.max_attempts < 1 || c.max_attempts > 10 || c.max_upstream_in_flight < 1) {
    return absl::InvalidArgumentError(
        "--max_attempts must be between 1 and 10 and --max_upstream_in_flight at least 1");
  }
  if (c.max_response_bytes < 1024 || c.max_connections_per_host < 1) {
    return absl::InvalidArgumentError(
        "--max_response_bytes must be at least 1024 and --max_connections_per_host at least 1");
  }
  return parsed;
}

}  // namespace leafsvc
