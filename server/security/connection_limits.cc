#include "server/security/connection_limits.h"

#include <grpcpp/resource_quota.h>

#include <algorithm>
#include <climits>

namespace leafsvc {
namespace {

int Millis(absl::Duration d) {
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(d), INT_MAX));
}

}  // namespace

void AddConnectionLimitFlags(FlagSet& f) {
  using T = FlagSet::Type;
  f.Add("handshake_timeout", T::kDuration, "10s",
        "a caller connection that has not finished its TLS handshake and HTTP/2 preface by "
        "then is closed (gRPC's default is 120s)");
  f.Add("max_connection_idle", T::kDuration, "5m",
        "a caller connection with no call for this long is closed (GOAWAY; clients reconnect "
        "when they next call); 0: never");
  f.Add("grpc_memory_quota", T::kInt, "268435456",
        "bytes gRPC may use for all caller connections and calls (a ResourceQuota); under "
        "pressure it shrinks buffers and closes idle connections");
  f.Add("fd_reserve", T::kInt, "128",
        "file descriptors kept free for Leaf and the process: a caller connection is refused "
        "(accepted and closed at once) while fewer would remain; 0: no reserve");
  f.SetRange("handshake_timeout", absl::Milliseconds(100), absl::Minutes(10));
  f.SetRange("max_connection_idle", absl::ZeroDuration(), absl::Hours(24 * 365));
  f.SetRange("grpc_memory_quota", int64_t{1} << 20, int64_t{1} << 36);
  f.SetRange("fd_reserve", 0, 65536);
}

absl::StatusOr<ConnectionLimits> ReadConnectionLimitFlags(const FlagSet& f) {
  ConnectionLimits l;
  l.handshake_timeout = f.GetDuration("handshake_timeout");
  l.max_connection_idle = f.GetDuration("max_connection_idle");
  const int64_t quota = f.GetInt("grpc_memory_quota");
  const int64_t reserve = f.GetInt("fd_reserve");
  // Ranges are checked by the flag table (SetRange above).
  l.grpc_memory_quota = static_cast<std::size_t>(quota);
  l.fd_reserve = static_cast<int>(reserve);
  return l;
}

void ApplyConnectionLimits(const ConnectionLimits& l, grpc::ServerBuilder& builder) {
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, Millis(l.handshake_timeout));
  if (l.max_connection_idle > absl::ZeroDuration()) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, Millis(l.max_connection_idle));
  }
  grpc::ResourceQuota quota("agleader-callers");
  quota.Resize(l.grpc_memory_quota);
  builder.SetResourceQuota(quota);  // the builder keeps its own reference
}

}  // namespace leafsvc
