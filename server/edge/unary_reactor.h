// The one reactor of every unary RPC. It owns the call's record and messages
// from the moment the call is admitted until gRPC is done with it, cancels
// the Leaf operation behind the call when the caller cancels, and ends the
// call through the record (ErrorInfo, redaction, metrics, one log line).
//
// The operation's completion may run (and gRPC may call OnDone) before the
// pipeline has handed over the operation (SetOperation), so the reactor is
// freed when both OnDone and SetOperation are through.
#ifndef SERVER_EDGE_UNARY_REACTOR_H_
#define SERVER_EDGE_UNARY_REACTOR_H_

#include <grpcpp/support/server_callback.h>

#include <atomic>
#include <memory>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "server/edge/raw_unary.h"
#include "server/edge/rpc_record.h"
#include "server/leaf/leaf_call.h"

namespace leafsvc {

class UnaryReactor final : public grpc::ServerUnaryReactor {
 public:
  // Counts itself in `*active` until freed.
  UnaryReactor(std::atomic<int>* active, RpcRecord record, std::unique_ptr<RawResponse> messages);

  RpcRecord& record() { return record_; }

  // The operation behind the call; null when it ended before it could be
  // handed over (e.g. it refused the request). Call exactly once.
  void SetOperation(std::shared_ptr<leaf::Cancellable> operation);

  // Ends the call: the record concludes it and, on success, the response is
  // serialized. Call exactly once; Finish is the last thing it does (OnDone
  // may run inside it and free the reactor).
  void End(const absl::Status& status);

  void OnCancel() override;
  void OnDone() override;

  // Run OnCancel and OnDone on the thread that triggers them instead of
  // gRPC's executor threads: both are short and never block (OnCancel asks
  // the operation to end, OnDone drops references), and without this every
  // call paid one more thread wake-up for OnDone alone (bench, C=16: 2.9
  // -> 2.4 context switches per request, docs/performance.md). gRPC marks
  // the hook "not API" (grpcpp/support/server_callback.h, 1.51); its
  // DefaultReactor uses it the same way. What makes it safe here: OnDone can
  // run inside Finish (on the curl, scheduler or completion thread), so
  // Finish is the last thing FinishWith does, and an operation keeps itself
  // alive through its own callbacks; gRPC never runs OnDone inside OnCancel
  // (the call holds a reference across OnCancel).
  bool InternalInlineable() override { return true; }

 private:
  void Unref();

  std::atomic<int>* const active_;
  RpcRecord record_;
  const std::unique_ptr<RawResponse> messages_;
  std::atomic<int> refs_{2};  // OnDone + SetOperation
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<leaf::Cancellable> operation_ ABSL_GUARDED_BY(mu_);
};

// Ends a call that was refused before any work started (malformed request,
// draining, invalid request) through the record, on gRPC's own reactor.
grpc::ServerUnaryReactor* RefuseUnary(grpc::CallbackServerContext* context, RpcRecord& record,
                                      const absl::Status& status);

}  // namespace leafsvc

#endif  // SERVER_EDGE_UNARY_REACTOR_H_
