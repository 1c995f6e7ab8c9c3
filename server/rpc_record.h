// What is known about one RPC from its start to its end, and what happens
// at its end in one place: the status is annotated (ErrorInfo metadata
// request_id and leaf_user_id), redacted of the call's and the process's
// secrets and shortened (ExitStatus), counted in the metrics and logged as
// one structured line; the caller gets the same redacted status.
#ifndef SERVER_RPC_RECORD_H_
#define SERVER_RPC_RECORD_H_

#include <string>
#include <vector>

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/leaf/leaf_client.h"
#include "server/metrics.h"
#include "server/util/secret.h"

namespace leafsvc {

// Metadata key of the request id (read from the caller, echoed back in
// trailing metadata, sent to Leaf as X-Request-Id).
inline constexpr char kRequestIdKey[] = "x-request-id";
// gRPC's retry pushback trailer (gRFC A6): negative means "do not retry".
inline constexpr char kRetryPushbackKey[] = "grpc-retry-pushback-ms";

class RpcRecord {
 public:
  // Starts the record: reads or generates the request id, counts the start.
  RpcRecord(grpc::CallbackServerContext* context, absl::string_view method,
            absl::string_view leaf_user_id, Metrics* metrics);

  const std::string& request_id() const { return request_id_; }

  // A secret of this call (a field of the request); with the caller's
  // x-leaf-token and authorization metadata, which are added on
  // construction, it is redacted from everything Conclude sends or logs.
  void AddCallSecret(absl::string_view secret);
  leaf::CallStats* stats() { return &stats_; }

  // Ends the record with `status` and returns what to send the caller.
  // Call exactly once.
  grpc::Status Conclude(const absl::Status& status);

 private:
  grpc::CallbackServerContext* const context_;
  const absl::string_view method_;
  const std::string leaf_user_id_;
  Metrics* const metrics_;
  const absl::Time start_;
  std::string request_id_;
  const bool request_id_from_caller_;
  leaf::CallStats stats_;
  std::vector<Secret> call_secrets_;
};

// A caller's request id if acceptable (1-128 printable characters), else a
// new random one.
std::string RequestIdFrom(const grpc::CallbackServerContext& context);

}  // namespace leafsvc

#endif  // SERVER_RPC_RECORD_H_
