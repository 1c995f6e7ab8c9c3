// What is known about one RPC from its start to its end, and what happens
// at its end in one place: the status is annotated (ErrorInfo metadata
// request_id and leaf_user_id), redacted of the call's and the process's
// secrets and shortened (ExitStatus), counted in the metrics and logged as
// one structured line; the caller gets the same redacted status.
#ifndef SERVER_EDGE_RPC_RECORD_H_
#define SERVER_EDGE_RPC_RECORD_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/edge/client_metadata.h"
#include "server/leaf/leaf_client.h"
#include "server/observability/metrics.h"
#include "server/secrets/secret.h"

namespace leafsvc {

// Metadata key of the request id (read from the caller, echoed back in
// trailing metadata, sent to Leaf as X-Request-Id).
inline constexpr char kRequestIdKey[] = "x-request-id";
// gRPC's retry pushback trailer (gRFC A6): negative means "do not retry".
inline constexpr char kRetryPushbackKey[] = "grpc-retry-pushback-ms";

// A server stream is not a call in flight (agleader_calls_in_flight counts
// unary calls; open streams have their own gauge).
enum class RpcKind { kUnary, kServerStream };

class RpcRecord {
 public:
  // Where the record's trailing metadata (the request id, the retry
  // pushback) goes: the call's trailers.
  using AddTrailer = std::function<void(const std::string& key, const std::string& value)>;

  // Starts the record: reads or generates the request id, counts the start.
  RpcRecord(grpc::CallbackServerContext* context, absl::string_view method,
            absl::string_view leaf_user_id, Metrics* metrics, RpcKind kind = RpcKind::kUnary);
  // The same for a call served on gRPC's core API: `metadata` is read here
  // only; `add_trailer` is called by End/EndStream.
  RpcRecord(const ClientMetadata& metadata, AddTrailer add_trailer, absl::string_view method,
            absl::string_view leaf_user_id, Metrics* metrics, RpcKind kind = RpcKind::kUnary);

  const std::string& request_id() const { return request_id_; }

  // A secret of this call (a field of the request); with the caller's
  // x-leaf-token and authorization metadata, which are added on
  // construction, it is redacted from everything End sends or logs.
  void AddCallSecret(absl::string_view secret);
  leaf::CallStats* stats() { return &stats_; }

  // Ends the record with `status` and returns what to send the caller:
  // a unary call, or a stream refused before it started (counted among the
  // rejected calls). Call End or EndStream exactly once.
  grpc::Status End(const absl::Status& status);
  // The same for a stream that ran: logged as "watch stream ended" with
  // what it carried, never counted as rejected.
  grpc::Status EndStream(const absl::Status& status, int users, int changes_sent);

 private:
  AddTrailer add_trailer_;
  struct StreamSummary {
    int users;
    int changes_sent;
  };
  grpc::Status Finish(const absl::Status& status, const StreamSummary* stream);

  const absl::string_view method_;
  const RpcKind kind_;
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
std::string RequestIdFrom(const ClientMetadata& metadata);

}  // namespace leafsvc

#endif  // SERVER_EDGE_RPC_RECORD_H_
