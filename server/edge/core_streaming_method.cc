#include "server/edge/core_streaming_method.h"

#include <grpc/byte_buffer.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace leafsvc {
namespace {

// Calls requested ahead: a burst of new streams waits in the core's queue
// of pending calls (unbounded in gRPC 1.51) while the callback threads take
// them.
constexpr int kOutstanding = 16;

// gRPC 1.51's grpc::Server keeps its callback API's completion queue (the
// one its callback threads drain, registered with the core before the
// server starts) in a private member, `callback_cq_`, and the C++ API has
// no way to register another queue of that kind. An explicit instantiation
// may name a private member ([temp.explicit]: access is not checked there),
// which gives its pointer-to-member; the name and type are checked when
// this compiles against another gRPC.
struct ServerCallbackCq {
  using Member = std::atomic<grpc::CompletionQueue*> grpc::Server::*;
  friend Member MemberOf(ServerCallbackCq);
};
template <typename Key, typename Key::Member kMember>
struct Expose {
  friend typename Key::Member MemberOf(Key) { return kMember; }
};
template struct Expose<ServerCallbackCq, &grpc::Server::callback_cq_>;

// That queue is, with gRPC's epoll engine, the process's shared
// "callback alternative" queue, refcounted by private static functions of
// grpc::CompletionQueue: a server takes a reference when it starts and drops
// it in its Shutdown, which shuts the queue down with the last reference.
// A stream still has a batch to start after that (its status, once the
// Shutdown's cancel ends a write stuck behind flow control), so this holds
// a reference of its own until every stream is done.
struct AcquireAlternativeCq {
  using Member = grpc::CompletionQueue* (*)();
  friend Member MemberOf(AcquireAlternativeCq);
};
template struct Expose<AcquireAlternativeCq, &grpc::CompletionQueue::CallbackAlternativeCQ>;
struct ReleaseAlternativeCq {
  using Member = void (*)(grpc::CompletionQueue*);
  friend Member MemberOf(ReleaseAlternativeCq);
};
template struct Expose<ReleaseAlternativeCq, &grpc::CompletionQueue::ReleaseCallbackAlternativeCQ>;

}  // namespace

CompletionTag::CompletionTag() : grpc_completion_queue_functor{} {
  functor_run = &CompletionTag::Run;
  inlineable = 0;  // run outside the core's locks
}

void CompletionTag::Run(grpc_completion_queue_functor* functor, int ok) {
  CompletionTag* tag = static_cast<CompletionTag*>(functor);
  HappensAfter(tag);
  tag->Complete(ok != 0);
}

// Registers the path with the core as an async method (no handler): the
// C++ server then sets its server_tag, the core's registration, and leaves
// requesting calls to us.
class CoreStreamingMethod::Method final : public grpc::Service {
 public:
  explicit Method(const std::string& path) {
    method_ = new grpc::internal::RpcServiceMethod(
        path.c_str(), grpc::internal::RpcMethod::SERVER_STREAMING, nullptr);
    AddMethod(method_);  // owned by the Service
  }
  void* server_tag() const { return method_->server_tag(); }

 private:
  grpc::internal::RpcServiceMethod* method_;
};

// One call requested from the core; completes when a caller's call matched
// it (ok), or when the server shuts down (not ok).
class CoreStreamingMethod::Request final : public CompletionTag {
 public:
  explicit Request(CoreStreamingMethod* owner) : owner_(owner) {
    grpc_metadata_array_init(&metadata_);
  }
  ~Request() override {
    grpc_metadata_array_destroy(&metadata_);
    if (payload_ != nullptr) grpc_byte_buffer_destroy(payload_);
  }
  grpc_call_error Ask() {
    return grpc_server_request_registered_call(owner_->server_, owner_->method_->server_tag(),
                                               &call_, &deadline_, &metadata_, &payload_,
                                               owner_->cq_, owner_->cq_, core_tag());
  }
  void Complete(bool ok) override {
    CoreStreamingMethod* owner = owner_;
    if (ok) {
      owner->RequestOne();  // the next caller's
      owner->handler_(NewCoreCall{call_, owner->cq_, deadline_, &metadata_, payload_});
    }
    delete this;
    owner->RequestDone();
  }

 private:
  CoreStreamingMethod* const owner_;
  grpc_call* call_ = nullptr;
  gpr_timespec deadline_{};
  grpc_metadata_array metadata_;
  grpc_byte_buffer* payload_ = nullptr;
};

CoreStreamingMethod::CoreStreamingMethod(std::string path)
    : path_(std::move(path)), method_(std::make_unique<Method>(path_)) {}

CoreStreamingMethod::~CoreStreamingMethod() { Release(); }

void CoreStreamingMethod::RegisterOn(grpc::ServerBuilder& builder) {
  builder.RegisterService(method_.get());
  builder.RegisterCallbackGenericService(&unimplemented_);
}

void CoreStreamingMethod::Start(grpc::Server* server, Handler handler) {
  server_ = server->c_server();
  // Set while the server started (it has callback services: the generic one
  // registered above, at least).
  grpc::CompletionQueue* callback_cq = (server->*MemberOf(ServerCallbackCq{})).load();
  held_cq_ = MemberOf(AcquireAlternativeCq{})();
  if (held_cq_ != callback_cq) {
    // gRPC runs its I/O in the background here (another polling engine):
    // its callback queue is the server's own and goes in its Shutdown.
    std::fprintf(stderr,
                 "fatal: gRPC's callback completion queue is not the shared alternative queue "
                 "(a polling engine this build does not support)\n");
    std::abort();
  }
  cq_ = callback_cq->cq();
  handler_ = std::move(handler);
  for (int i = 0; i < kOutstanding; ++i) RequestOne();
}

void CoreStreamingMethod::RequestOne() {
  {
    absl::MutexLock lock(&mu_);
    ++requested_;
  }
  auto* request = new Request(this);
  if (request->Ask() != GRPC_CALL_OK) {
    delete request;
    RequestDone();
  }
}

void CoreStreamingMethod::RequestDone() {
  absl::MutexLock lock(&mu_);
  --requested_;
}

void CoreStreamingMethod::StopRequesting() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* requested) { return *requested == 0; }, &requested_));
}

void CoreStreamingMethod::Release() {
  StopRequesting();
  if (held_cq_ == nullptr) return;
  MemberOf(ReleaseAlternativeCq{})(std::exchange(held_cq_, nullptr));
}

}  // namespace leafsvc
