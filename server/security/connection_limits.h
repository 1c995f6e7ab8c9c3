// Bounds on what callers' connections may hold:
//   - a connection must finish its handshake (TLS, then the HTTP/2 preface
//     and SETTINGS) within --handshake_timeout, else it is closed;
//   - a connection with no call for --max_connection_idle gets a GOAWAY;
//   - gRPC's memory for all connections is capped by a ResourceQuota of
//     --grpc_memory_quota bytes;
//   - --fd_reserve descriptors are kept for Leaf (see fd_limit.h).
// gRPC 1.51 has no cap on concurrent connections for the C++ server (no
// GRPC_ARG_MAX_ALLOWED_INCOMING_CONNECTIONS); the descriptor reserve is the
// cap: a connection is accepted only while that many descriptors stay free.
#ifndef SERVER_SECURITY_CONNECTION_LIMITS_H_
#define SERVER_SECURITY_CONNECTION_LIMITS_H_

#include <grpcpp/server_builder.h>

#include <cstddef>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/config/flags.h"

namespace leafsvc {

struct ConnectionLimits {
  absl::Duration handshake_timeout = absl::Seconds(10);
  absl::Duration max_connection_idle = absl::Minutes(5);  // 0: never
  std::size_t grpc_memory_quota = std::size_t{256} << 20;
  int fd_reserve = 128;  // 0: no reserve, accepts are never refused
};

// Declares the flags (part of the server's table).
void AddConnectionLimitFlags(FlagSet& flags);
// Reads them back after Parse; INVALID_ARGUMENT naming the flag when out of
// range.
absl::StatusOr<ConnectionLimits> ReadConnectionLimitFlags(const FlagSet& flags);
// Sets the channel arguments and the resource quota on `builder`.
void ApplyConnectionLimits(const ConnectionLimits& limits, grpc::ServerBuilder& builder);

}  // namespace leafsvc

#endif  // SERVER_SECURITY_CONNECTION_LIMITS_H_
