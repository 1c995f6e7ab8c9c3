#include "tests/config/config_fields.h"

namespace leafsvc::testing {

std::vector<std::string> DifferingFields(const ServerConfig& a, const ServerConfig& b) {
  std::vector<std::string> out;
#define LEAFSVC_FIELD(f) \
  if (!(a.f == b.f)) out.push_back(#f)
#define LEAFSVC_SECRET(f) \
  if (a.f.Reveal() != b.f.Reveal()) out.push_back(#f)
  LEAFSVC_FIELD(listen);
  LEAFSVC_FIELD(leaf_api_url);
  LEAFSVC_SECRET(leaf_token);
  LEAFSVC_FIELD(leaf_username);
  LEAFSVC_SECRET(leaf_password);
  LEAFSVC_FIELD(upstream_timeout);
  LEAFSVC_FIELD(connect_timeout);
  LEAFSVC_FIELD(max_response_bytes);
  LEAFSVC_FIELD(max_connections_per_host);
  LEAFSVC_FIELD(max_attempts);
  LEAFSVC_FIELD(max_upstream_in_flight);
  LEAFSVC_FIELD(batch_fan_out);
  LEAFSVC_FIELD(leaf_budget.requests_per_minute);
  LEAFSVC_FIELD(leaf_budget.burst);
  LEAFSVC_FIELD(leaf_budget.background_min_share);
  LEAFSVC_FIELD(leaf_health_window);
  LEAFSVC_FIELD(leaf_ca_file);
  LEAFSVC_FIELD(allow_full_view);
  LEAFSVC_FIELD(allow_caller_leaf_token);
  LEAFSVC_FIELD(page_token_key);
  LEAFSVC_FIELD(shutdown_grace);
  LEAFSVC_FIELD(upstream_first_byte_timeout);
  LEAFSVC_FIELD(leaf_login_backoff);
  LEAFSVC_FIELD(leaf_login_max_backoff);
  LEAFSVC_FIELD(max_connection_age);
  LEAFSVC_FIELD(log_level);
  LEAFSVC_FIELD(metrics_listen);
  LEAFSVC_FIELD(security.tls_cert_file);
  LEAFSVC_FIELD(security.tls_key_file);
  LEAFSVC_FIELD(security.client_ca_file);
  LEAFSVC_FIELD(security.api_keys_file);
  LEAFSVC_SECRET(security.api_keys);
  LEAFSVC_FIELD(security.protect_health_and_reflection);
  LEAFSVC_FIELD(watch_poll_interval);
  LEAFSVC_FIELD(watch_poll_jitter);
  LEAFSVC_FIELD(watch_max_backoff);
  LEAFSVC_FIELD(watch_max_streams);
  LEAFSVC_FIELD(watch_max_users);
  LEAFSVC_FIELD(watch_max_users_per_caller);
  LEAFSVC_FIELD(watch_resume_history);
  LEAFSVC_FIELD(alerts_min_prompt_interval);
  LEAFSVC_FIELD(alerts_listen);
  LEAFSVC_FIELD(alerts_public_url);
  LEAFSVC_SECRET(alerts_secret);
  LEAFSVC_SECRET(redis_url);
  LEAFSVC_SECRET(redis_password);
  LEAFSVC_FIELD(fleet_size_hint);
  LEAFSVC_FIELD(max_connection_age_grace);
  LEAFSVC_FIELD(alerts_max_body_bytes);
  LEAFSVC_FIELD(keepalive_time);
  LEAFSVC_FIELD(keepalive_timeout);
  LEAFSVC_FIELD(connection_limits.handshake_timeout);
  LEAFSVC_FIELD(connection_limits.max_connection_idle);
  LEAFSVC_FIELD(connection_limits.grpc_memory_quota);
  LEAFSVC_FIELD(connection_limits.fd_reserve);
  LEAFSVC_FIELD(http_limits.max_connections);
  LEAFSVC_FIELD(http_limits.max_connections_per_ip);
  LEAFSVC_FIELD(http_limits.request_timeout);
  LEAFSVC_FIELD(http_limits.idle_timeout);
#undef LEAFSVC_FIELD
#undef LEAFSVC_SECRET
  return out;
}

}  // namespace leafsvc::testing
