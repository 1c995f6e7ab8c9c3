// A server-streaming method served on gRPC's core API instead of the C++
// callback API: WatchCredentials, whose streams stay open for hours and are
// counted in thousands. gRPC 1.51's callback API holds about 16.9 KB per
// open stream (its reactor's writer and operation sets, a server context,
// a request object and an arena zone for them) where the core call alone
// holds about 11.6 KB (bench/floor_server, `bash bench/run.sh watch-idle`).
//
// The method is registered with the core as an async method of a service of
// its own (the generated service marks it generic, so it registers nothing
// for it). Its calls are requested, and their batches complete, on the
// completion queue of the server's own callback API: gRPC's callback
// threads run each completion (a CompletionTag), as they run the callback
// API's reactors. No thread of ours waits on a completion queue: one would
// take part in polling the server's connections, and a unary call read by
// it would then hop to a callback thread (measured: +15 µs at C=1).
// kOutstanding calls stay requested; a burst of new streams beyond them
// waits in the core's queue of pending calls. The queue stays up (a
// reference of this method's) until Release, so streams can still send
// their status after the server's Shutdown.
//
// Since a generic service must then exist, methods nobody registered are
// answered by gRPC's own default one (UNIMPLEMENTED, as without it).
#ifndef SERVER_EDGE_CORE_STREAMING_METHOD_H_
#define SERVER_EDGE_CORE_STREAMING_METHOD_H_

#include <grpc/grpc.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "server/platform/happens_before.h"

namespace leafsvc {

// What a gRPC callback thread runs when a batch completes (or a requested
// call arrives). Pass core_tag() as the batch's tag. Completions of
// different batches of one call may run at once on different threads.
class CompletionTag : private grpc_completion_queue_functor {
 public:
  CompletionTag();
  virtual ~CompletionTag() = default;
  virtual void Complete(bool ok) = 0;
  // What this thread did before (the tag's and its owner's construction, the
  // batch's state) happens before Complete, for ThreadSanitizer too: the
  // hand-off inside gRPC is invisible to it (server/platform/happens_before.h).
  void* core_tag() {
    HappensBefore(this);
    return static_cast<grpc_completion_queue_functor*>(this);
  }

 private:
  static void Run(grpc_completion_queue_functor* functor, int ok);
};

// A call the core matched to the method. The handler takes the reference
// to `call` (it must grpc_call_unref it once every batch it started has
// completed, and bind them to `cq`); `metadata` and `payload` are freed
// after the handler returns.
struct NewCoreCall {
  grpc_call* call;
  grpc_completion_queue* cq;
  gpr_timespec deadline;
  const grpc_metadata_array* metadata;
  grpc_byte_buffer* payload;  // null when the caller sent no message
};

class CoreStreamingMethod {
 public:
  using Handler = std::function<void(const NewCoreCall& call)>;

  // `path`: "/package.Service/Method".
  explicit CoreStreamingMethod(std::string path);
  ~CoreStreamingMethod();  // Stop()
  CoreStreamingMethod(const CoreStreamingMethod&) = delete;
  CoreStreamingMethod& operator=(const CoreStreamingMethod&) = delete;

  // Before BuildAndStart.
  void RegisterOn(grpc::ServerBuilder& builder);
  // After BuildAndStart: requests calls and runs `handler` for each (on a
  // gRPC callback thread).
  void Start(grpc::Server* server, Handler handler);
  // After the server's Shutdown returned (the core then fails the calls
  // still requested): waits until those completions have run (a call
  // matched just before may still reach the handler meanwhile).
  void StopRequesting();
  // After StopRequesting, once every call the handler took has completed
  // its batches: drops this method's hold on the completion queue (the
  // queue shuts down with its last holder). Idempotent.
  void Release();

 private:
  class Method;
  class Request;
  void RequestOne();
  void RequestDone();

  const std::string path_;
  std::unique_ptr<Method> method_;
  grpc::CallbackGenericService unimplemented_;
  grpc_server* server_ = nullptr;
  grpc_completion_queue* cq_ = nullptr;
  grpc::CompletionQueue* held_cq_ = nullptr;  // our reference (Release)
  Handler handler_;
  absl::Mutex mu_;
  int requested_ ABSL_GUARDED_BY(mu_) = 0;  // calls requested, not yet completed
};

}  // namespace leafsvc

#endif  // SERVER_EDGE_CORE_STREAMING_METHOD_H_
