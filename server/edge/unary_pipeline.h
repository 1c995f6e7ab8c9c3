// The one path of every unary RPC: parse the raw request → start the call's
// record (request id, metrics, secrets) → admit (not draining) → validate →
// decide the Leaf call options → start the method's operation → map its
// result into the response → end the call through the record (ErrorInfo,
// redaction once, metrics, one log line). The method table
// (server/edge/method_table.h) says what differs per method; nothing else does.
// Streaming methods use the same admission (Admit).
#ifndef SERVER_EDGE_UNARY_PIPELINE_H_
#define SERVER_EDGE_UNARY_PIPELINE_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>

#include <atomic>
#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/edge/client_metadata.h"
#include "server/edge/raw_unary.h"
#include "server/edge/rpc_record.h"
#include "server/edge/unary_method.h"
#include "server/edge/unary_reactor.h"
#include "server/observability/metrics.h"

namespace leafsvc {

// Metadata key of a caller-supplied Leaf token (--allow_caller_leaf_token).
inline constexpr char kCallerLeafTokenKey[] = "x-leaf-token";
// Initial metadata of ListCredentials and BatchGetCredentials: the Leaf
// requests a minute bulk work gets now (decimal), for a client's ETA
// (docs/rate-limits.md).
inline constexpr char kBudgetBulkPerMinuteKey[] = "x-leaf-budget-bulk-per-minute";

// The outcome of admitting one call: its record, and either the scope to
// run it in or the reason it was refused (to conclude the record with).
struct Admission {
  RpcRecord record;
  absl::StatusOr<CallScope> scope;
};

class UnaryPipeline {
 public:
  // `metrics` may be null; `env.leaf` and `env.page_tokens` must outlive
  // the pipeline.
  UnaryPipeline(MethodEnv env, bool allow_caller_leaf_token, Metrics* metrics);

  template <typename Request, typename Response, typename Result>
  grpc::ServerUnaryReactor* Run(const UnaryMethod<Request, Response, Result>& method,
                                grpc::CallbackServerContext* context,
                                const grpc::ByteBuffer* raw_request,
                                grpc::ByteBuffer* raw_response);

  // Parses `raw_request` into `*request` and admits the call as Run does.
  template <typename Request>
  Admission Admit(const MethodAdmission<Request>& method, grpc::CallbackServerContext* context,
                  const grpc::ByteBuffer* raw_request, Request* request) const;
  // The same for a call served on gRPC's core API (WatchCredentials): its
  // caller's metadata, its deadline and where its trailers go.
  template <typename Request>
  Admission Admit(const MethodAdmission<Request>& method, const ClientMetadata& metadata,
                  absl::Time deadline, RpcRecord::AddTrailer add_trailer,
                  const grpc::ByteBuffer* raw_request, Request* request) const;

  // From now on new calls fail with UNAVAILABLE (reason SHUTTING_DOWN);
  // calls already running go on.
  void StartDraining() { draining_.store(true); }
  // Unary calls started and not yet done.
  int active_calls() const { return active_calls_.load(); }
  const MethodEnv& env() const { return env_; }

 private:
  // The reason not to start a call now (draining), or OK.
  absl::Status AdmitNow() const;
  // The Leaf call's deadline and, if sent and allowed, the caller's Leaf token.
  // For bulk methods: tells the caller (initial metadata
  // kBudgetBulkPerMinuteKey) how many Leaf requests a minute bulk work gets
  // now, so that a client can show an ETA.
  void AnnounceBudget(grpc::CallbackServerContext* context, int leaf_priority) const;
  absl::StatusOr<CallScope> ScopeFor(const ClientMetadata& metadata, absl::Time deadline) const;
  // The request's own rules, then draining, then ScopeFor.
  template <typename Request>
  absl::StatusOr<CallScope> Check(const MethodAdmission<Request>& method, const Request& request,
                                  RpcRecord& record, const ClientMetadata& metadata,
                                  absl::Time deadline) const;

  const MethodEnv env_;
  const bool allow_caller_leaf_token_;
  Metrics* const metrics_;
  std::atomic<bool> draining_{false};
  std::atomic<int> active_calls_{0};
};

template <typename Request>
absl::StatusOr<CallScope> UnaryPipeline::Check(const MethodAdmission<Request>& method,
                                               const Request& request, RpcRecord& record,
                                               const ClientMetadata& metadata,
                                               absl::Time deadline) const {
  if (method.secrets != nullptr) {
    for (absl::string_view secret : method.secrets(request)) record.AddCallSecret(secret);
  }
  absl::Status status = AdmitNow();
  if (status.ok() && method.validate != nullptr) status = method.validate(request, env_);
  if (!status.ok()) return status;
  return ScopeFor(metadata, deadline);
}

template <typename Request>
Admission UnaryPipeline::Admit(const MethodAdmission<Request>& method,
                               grpc::CallbackServerContext* context,
                               const grpc::ByteBuffer* raw_request, Request* request) const {
  if (absl::Status parsed = ParseRawRequest(raw_request, request); !parsed.ok()) {
    return Admission{RpcRecord(context, method.name, "", metrics_, method.kind), parsed};
  }
  Admission admission{
      RpcRecord(context, method.name, method.leaf_user ? method.leaf_user(*request) : "", metrics_,
                method.kind),
      absl::UnknownError("")};
  admission.scope = Check(method, *request, admission.record, CallbackClientMetadata(*context),
                          absl::FromChrono(context->deadline()));
  return admission;
}

template <typename Request>
Admission UnaryPipeline::Admit(const MethodAdmission<Request>& method,
                               const ClientMetadata& metadata, absl::Time deadline,
                               RpcRecord::AddTrailer add_trailer,
                               const grpc::ByteBuffer* raw_request, Request* request) const {
  if (absl::Status parsed = ParseRawRequest(raw_request, request); !parsed.ok()) {
    return Admission{
        RpcRecord(metadata, std::move(add_trailer), method.name, "", metrics_, method.kind),
        parsed};
  }
  Admission admission{
      RpcRecord(metadata, std::move(add_trailer), method.name,
                method.leaf_user ? method.leaf_user(*request) : "", metrics_, method.kind),
      absl::UnknownError("")};
  admission.scope = Check(method, *request, admission.record, metadata, deadline);
  return admission;
}

template <typename Request, typename Response, typename Result>
grpc::ServerUnaryReactor* UnaryPipeline::Run(const UnaryMethod<Request, Response, Result>& method,
                                             grpc::CallbackServerContext* context,
                                             const grpc::ByteBuffer* raw_request,
                                             grpc::ByteBuffer* raw_response) {
  auto messages = std::make_unique<RawUnary<Request, Response>>(raw_response);
  Admission admission = Admit(method, context, raw_request, &messages->request);
  if (!admission.scope.ok()) {
    return RefuseUnary(context, admission.record, admission.scope.status());
  }
  CallScope scope = *std::move(admission.scope);
  const Request* request = &messages->request;
  Response* response = &messages->response;
  // The reactor owns the messages and the record from here on.
  auto* reactor =
      new UnaryReactor(&active_calls_, std::move(admission.record), std::move(messages));
  scope.leaf.request_id = reactor->record().request_id();
  scope.leaf.stats = reactor->record().stats();
  scope.leaf.priority = method.leaf_priority;
  AnnounceBudget(context, method.leaf_priority);
  const MethodEnv* env = &env_;
  auto respond = method.respond;
  reactor->SetOperation(
      method.start(env_, *request, scope,
                   [reactor, env, request, response, respond](absl::StatusOr<Result> result) {
                     absl::Status status = result.status();
                     if (status.ok())
                       status = respond(*env, *request, *std::move(result), response);
                     reactor->End(status);
                   }));
  return reactor;
}

}  // namespace leafsvc

#endif  // SERVER_EDGE_UNARY_PIPELINE_H_
