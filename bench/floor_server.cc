// floor_server: the cost of gRPC alone. A gRPC C++ callback server that
// answers every GetCredentials at once with one fixed Credentials (the
// translation of the fast upstream's body), without any HTTP behind it. The
// benchmark adds the direct libcurl client's CPU per request (the cost of
// HTTP alone) to its CPU per request to get the floor a proxy cannot go
// below. WatchCredentials, served on gRPC's core API as the service serves it
// (server/edge/core_streaming_method.h), sends one CHANGE_KIND_INITIAL change
// and holds the stream open until the caller cancels it: the memory gRPC
// alone keeps per idle stream, the floor of the idle watchers' RSS per
// stream.
//   floor_server [--listen=127.0.0.1:0]
// Prints "floor_server listening on HOST:PORT" on stdout; runs until SIGTERM.
#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"
#include "server/edge/core_streaming_method.h"
#include "server/platform/stop_signals.h"

namespace {

namespace v1 = ::leaf::agleader::v1;

// One idle stream: its first change (with the initial metadata), then
// nothing until the caller leaves; then the status. Deletes itself when
// its three batches have completed (on gRPC's callback threads, possibly
// at once).
class IdleWatch final {
 public:
  static inline std::atomic<int> live{0};  // not yet deleted

  IdleWatch(grpc_call* call, const std::string& change) : call_(call) {
    ++live;
    grpc_slice bytes = grpc_slice_from_copied_buffer(change.data(), change.size());
    message_ = grpc_raw_byte_buffer_create(&bytes, 1);
    grpc_slice_unref(bytes);
    grpc_op ops[2]{};
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = message_;
    ++batches_;  // the constructor's own, so no completion ends it meanwhile
    Start(ops, 2, &sent_);
    grpc_op close{};
    close.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    close.data.recv_close_on_server.cancelled = &cancelled_;
    Start(&close, 1, &closed_);
    Done();
  }

 private:
  class Tag final : public leafsvc::CompletionTag {
   public:
    Tag(IdleWatch* watch, void (IdleWatch::*step)()) : watch_(watch), step_(step) {}
    void Complete(bool /*ok*/) override { (watch_->*step_)(); }

   private:
    IdleWatch* const watch_;
    void (IdleWatch::*const step_)();
  };

  void Start(grpc_op* ops, size_t n, Tag* tag) {
    ++batches_;
    if (grpc_call_start_batch(call_, ops, n, tag->core_tag(), nullptr) != GRPC_CALL_OK) {
      --batches_;
    }
  }
  void OnSent() {
    // gRPC is done with the message: keep no copy, as the service does not.
    grpc_byte_buffer_destroy(message_);
    message_ = nullptr;
    Done();
  }
  void OnClosed() {
    grpc_op op{};
    op.op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    op.data.send_status_from_server.status = GRPC_STATUS_CANCELLED;
    Start(&op, 1, &finished_);
    Done();
  }
  void Done() {
    if (--batches_ > 0) return;
    grpc_call_unref(call_);
    delete this;
    --live;
  }

  grpc_call* const call_;
  grpc_byte_buffer* message_ = nullptr;
  int cancelled_ = 0;
  std::atomic<int> batches_{0};
  Tag sent_{this, &IdleWatch::OnSent};
  Tag closed_{this, &IdleWatch::OnClosed};
  Tag finished_{this, &IdleWatch::Done};
};

class FloorService final : public v1::AgLeaderCredentials::WithGenericMethod_WatchCredentials<
                               v1::AgLeaderCredentials::CallbackService> {
 public:
  FloorService() {
    // What the service answers for the fast upstream's credentials body.
    answer_.set_name("users/3fa85f64-5717-4562-b3fc-2c963f66afa6/agLeaderCredentials");
    answer_.set_id("765f6f20-6917-4aed-a072-17bf3bcc3835");
    answer_.set_leaf_user_id("3fa85f64-5717-4562-b3fc-2c963f66afa6");
    answer_.set_status(v1::CREDENTIAL_STATUS_OK);
    answer_.set_leaf_status("OK");
    answer_.mutable_create_time()->set_seconds(1682079387);
    answer_.mutable_create_time()->set_nanos(997586000);
    answer_.set_public_key("bench-public-key-8c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f");
    answer_.set_refresh_token_hint("****0001");
    answer_.set_private_key_hint("****0002");
  }

  grpc::ServerUnaryReactor* GetCredentials(grpc::CallbackServerContext* context,
                                           const v1::GetCredentialsRequest* /*request*/,
                                           v1::Credentials* response) override {
    *response = answer_;
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  // The change every idle stream gets (the service's for the fast
  // upstream's credentials).
  std::string FirstChange() const {
    v1::CredentialsChange change;
    change.set_leaf_user_id(answer_.leaf_user_id());
    change.set_kind(v1::CHANGE_KIND_INITIAL);
    *change.mutable_current() = answer_;
    change.mutable_observe_time()->set_seconds(1682079387);
    change.set_source(v1::CHANGE_SOURCE_INITIAL);
    change.set_resume_token("floor-resume-token-0000000000000000000000000000000000000000");
    return change.SerializeAsString();
  }

 private:
  v1::Credentials answer_;
};

}  // namespace

int main(int argc, char** argv) {
  const leafsvc::StopSignals stop_signals = leafsvc::StopSignals::Block();
  std::string listen = "127.0.0.1:0";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--listen=", 0) == 0) {
      listen = arg.substr(9);
    } else {
      std::fprintf(stderr, "usage: floor_server [--listen=127.0.0.1:0]\n");
      return 2;
    }
  }

  FloorService service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  leafsvc::CoreStreamingMethod watch("/leaf.agleader.v1.AgLeaderCredentials/WatchCredentials");
  watch.RegisterOn(builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "floor_server: could not listen on %s\n", listen.c_str());
    return 1;
  }
  const std::string change = service.FirstChange();
  watch.Start(server.get(), [&change](const leafsvc::NewCoreCall& call) {
    // The request is not read: every stream gets the same change.
    new IdleWatch(call.call, change);
  });
  std::printf("floor_server listening on 127.0.0.1:%d\n", port);
  std::fflush(stdout);
  stop_signals.Wait();
  server->Shutdown();
  watch.StopRequesting();
  while (IdleWatch::live.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  watch.Release();
  return 0;
}
