#include "server/edge/unary_reactor.h"

#include <utility>

#include "server/platform/happens_before.h"

namespace leafsvc {

UnaryReactor::UnaryReactor(std::atomic<int>* active, RpcRecord record,
                           std::unique_ptr<RawResponse> messages)
    : active_(active), record_(std::move(record)), messages_(std::move(messages)) {
  active_->fetch_add(1);
}

void UnaryReactor::SetOperation(std::shared_ptr<leaf::Cancellable> operation) {
  bool cancel_now;
  {
    absl::MutexLock lock(&mu_);
    operation_ = operation;
    cancel_now = cancelled_;
  }
  if (cancel_now && operation) operation->Cancel();
  Unref();
}

void UnaryReactor::End(const absl::Status& status) {
  grpc::Status result = record_.End(status);
  if (result.ok()) messages_->Write();
  // gRPC runs OnDone (which may free this) only after Finish.
  HappensBefore(this);
  Finish(std::move(result));
}

void UnaryReactor::OnCancel() {
  std::shared_ptr<leaf::Cancellable> operation;
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    operation = operation_;
  }
  if (operation) operation->Cancel();
}

void UnaryReactor::OnDone() {
  HappensAfter(this);
  Unref();
}

void UnaryReactor::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    active_->fetch_sub(1);
    delete this;
  }
}

grpc::ServerUnaryReactor* RefuseUnary(grpc::CallbackServerContext* context, RpcRecord& record,
                                      const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(record.End(status));
  return reactor;
}

}  // namespace leafsvc
