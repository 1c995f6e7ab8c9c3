#include "server/edge/core_streaming_method.h"

#include <grpc/byte_buffer.h>
#include <pthread.h>

#include <utility>

namespace leafsvc {
namespace {

// Calls requested ahead: a burst of new streams waits in the core's queue
// of pending calls (unbounded in gRPC 1.51) while the thread takes them.
constexpr int kOutstanding = 16;

}  // namespace

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
  grpc_call_error Ask(grpc_server* server, void* method_tag, grpc_completion_queue* cq) {
    return grpc_server_request_registered_call(server, method_tag, &call_, &deadline_, &metadata_,
                                               &payload_, cq, cq, this);
  }
  void Complete(bool ok) override {
    if (ok) {
      owner_->RequestOne();  // the next caller's
      owner_->handler_(NewCoreCall{call_, deadline_, &metadata_, payload_});
    }
    delete this;
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

CoreStreamingMethod::~CoreStreamingMethod() { Stop(); }

void CoreStreamingMethod::RegisterOn(grpc::ServerBuilder& builder) {
  builder.RegisterService(method_.get());
  builder.RegisterCallbackGenericService(&unimplemented_);
  cq_ = builder.AddCompletionQueue();
}

void CoreStreamingMethod::Start(grpc::Server* server, Handler handler) {
  server_ = server->c_server();
  handler_ = std::move(handler);
  for (int i = 0; i < kOutstanding; ++i) RequestOne();
  thread_ = std::thread([this] { Loop(); });
}

void CoreStreamingMethod::RequestOne() {
  auto* request = new Request(this);
  if (request->Ask(server_, method_->server_tag(), cq_->cq()) != GRPC_CALL_OK) delete request;
}

void CoreStreamingMethod::Loop() {
  pthread_setname_np(pthread_self(), "watch-cq");
  for (;;) {
    grpc_event event =
        grpc_completion_queue_next(cq_->cq(), gpr_inf_future(GPR_CLOCK_REALTIME), nullptr);
    if (event.type == GRPC_QUEUE_SHUTDOWN) return;
    static_cast<CompletionTag*>(event.tag)->Complete(event.success != 0);
  }
}

void CoreStreamingMethod::Stop() {
  if (stopped_ || cq_ == nullptr) return;
  stopped_ = true;
  cq_->Shutdown();
  if (thread_.joinable()) {
    thread_.join();
  } else {
    // Never started: drain what the queue holds.
    void* tag;
    bool ok;
    while (cq_->Next(&tag, &ok)) {
    }
  }
}

}  // namespace leafsvc
