// One row of the method table (server/edge/method_table.h): what the unary
// pipeline (server/edge/unary_pipeline.h) needs to know of an RPC. The pipeline
// does the rest the same way for every method: parse the raw request,
// start the record, admit (draining), validate, set the Leaf call options,
// start the operation, map its result into the response, end the call.
// Adding an RPC is a row plus its operation.
#ifndef SERVER_EDGE_UNARY_METHOD_H_
#define SERVER_EDGE_UNARY_METHOD_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/budget/request_budget.h"
#include "server/connect/connect_links.h"
#include "server/edge/rpc_record.h"
#include "server/edge/validation.h"
#include "server/leaf/leaf_call.h"
#include "server/leaf/leaf_client.h"
#include "server/operations/event_pages.h"

namespace leafsvc {

// The service's settings a method may use.
struct MethodOptions {
  // Longest time one RPC may spend on Leaf (capped by the caller's deadline).
  absl::Duration upstream_timeout = absl::Seconds(10);
  // BatchGetCredentials: most Leaf calls in flight per batch (--batch_fan_out).
  int batch_fan_out = 8;
  // ListCredentials: the `size` of each GET /users page.
  int leaf_users_page_size = 100;
};

// What every method's functions see of the service. Outlives every call.
struct MethodEnv {
  leaf::LeafClient* leaf = nullptr;
  MethodOptions options;
  ValidationOptions validation;
  const PageTokenCodec* page_tokens = nullptr;
  // Leaf's request budget (null: none to report).
  const budget::RequestBudget* budget = nullptr;
  // Connect links (null: not configured; their RPCs fail with
  // CONNECT_NOT_CONFIGURED).
  connect::ConnectLinks* connect = nullptr;
};

// What the pipeline decided for one admitted call.
struct CallScope {
  // Deadline (ours capped by the caller's), the caller's Leaf token if any,
  // the request id and the call's stats.
  leaf::CallOptions leaf{absl::InfiniteFuture()};
  // The caller's own deadline (InfiniteFuture when none).
  absl::Time caller_deadline = absl::InfiniteFuture();
};

// The part of a row every RPC has, streaming ones included: how a request
// is admitted.
template <typename Request>
struct MethodAdmission {
  // As in the service descriptor, e.g. "GetCredentials".
  absl::string_view name;
  // The one Leaf user the call is about (canonical), for the record, the
  // log line and ErrorInfo; null for calls about many users.
  std::string (*leaf_user)(const Request&) = nullptr;
  // Request fields that are secrets of this call (redacted from everything
  // the call sends or logs); null when none.
  std::vector<absl::string_view> (*secrets)(const Request&) = nullptr;
  // The request's rules; runs after admission, before any Leaf call.
  absl::Status (*validate)(const Request&, const MethodEnv&) = nullptr;
  // Unary, or a server stream (not counted among the calls in flight).
  RpcKind kind = RpcKind::kUnary;
  // The class of the method's requests in the Leaf request budget
  // (budget::PriorityOf): caller-facing unless the row says otherwise.
  int leaf_priority = 0;
};

template <typename Request, typename Response, typename Result>
struct UnaryMethod : MethodAdmission<Request> {
  using Done = std::function<void(absl::StatusOr<Result>)>;
  // Starts the operation (one or several Leaf calls). `done` runs exactly
  // once, possibly before `start` returns (then it may return null, e.g.
  // for a bad page token). The returned handle cancels the operation.
  std::shared_ptr<leaf::Cancellable> (*start)(const MethodEnv&, const Request&, const CallScope&,
                                              Done done) = nullptr;
  // Fills the response from a successful result; an error fails the call.
  absl::Status (*respond)(const MethodEnv&, const Request&, Result result,
                          Response* response) = nullptr;
};

}  // namespace leafsvc

#endif  // SERVER_EDGE_UNARY_METHOD_H_
