// A server-streaming method served on gRPC's core API instead of the C++
// callback API: WatchCredentials, whose streams stay open for hours and are
// counted in thousands. gRPC 1.51's callback API holds about 16.9 KB per
// open stream (its reactor's writer and operation sets, a server context,
// a request object and an arena zone for them) where the core call alone
// holds about 11.6 KB (bench/floor_server, `bash bench/run.sh watch-idle`).
//
// The method is registered with the core as an async method of a service of
// its own (the generated service marks it generic, so it registers nothing
// for it), on a completion queue the builder registers. After the server
// starts, one thread ("watch-cq") keeps kOutstanding calls requested and runs
// every completion of the queue: a new call goes to the handler; an
// operation's completion goes to its CompletionTag. No completion runs
// inline in grpc_call_start_batch, so a tag may start batches under its own
// lock.
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
#include <thread>

namespace leafsvc {

// What the watch-cq thread runs when a batch a stream started completes.
class CompletionTag {
 public:
  virtual ~CompletionTag() = default;
  virtual void Complete(bool ok) = 0;
};

// A call the core matched to the method. The handler takes the reference
// to `call` (it must grpc_call_unref it once every batch it started has
// completed); `metadata` and `payload` are freed after the handler returns.
struct NewCoreCall {
  grpc_call* call;
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
  // After BuildAndStart: requests calls and runs `handler` for each, on the
  // watch-cq thread.
  void Start(grpc::Server* server, Handler handler);
  // After the server's Shutdown returned (every call ended): drains the
  // queue and joins the thread. Idempotent.
  void Stop();

 private:
  class Method;
  class Request;
  void RequestOne();
  void Loop();

  const std::string path_;
  std::unique_ptr<Method> method_;
  grpc::CallbackGenericService unimplemented_;
  std::unique_ptr<grpc::ServerCompletionQueue> cq_;
  grpc_server* server_ = nullptr;
  Handler handler_;
  std::thread thread_;
  bool stopped_ = false;
};

}  // namespace leafsvc

#endif  // SERVER_EDGE_CORE_STREAMING_METHOD_H_
