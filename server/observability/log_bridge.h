// Routes the libraries' own log output through Log(), so every line on
// stderr is one JSON object:
//   - gRPC core (gpr_log; its GRPC_VERBOSITY still decides what it emits),
//   - protobuf (e.g. "String field contains invalid UTF-8" for a malformed
//     request message),
//   - abseil's internal log (ABSL_INTERNAL_LOG, with its text) and its raw
//     log (ABSL_RAW_LOG: the hook abseil offers sees file, line and severity
//     but not the text, so the JSON line carries those; it must not allocate
//     or lock, so it formats into a stack buffer and write(2)s).
// Each line carries "source" ("grpc", "protobuf", "absl"), "file" and "line".
// Call once, first thing in main(), before gRPC starts.
#ifndef SERVER_OBSERVABILITY_LOG_BRIDGE_H_
#define SERVER_OBSERVABILITY_LOG_BRIDGE_H_

namespace leafsvc {

void InstallLogBridges();

}  // namespace leafsvc

#endif  // SERVER_OBSERVABILITY_LOG_BRIDGE_H_
