// CoreStreamingMethod through a real gRPC server on a loopback port: every
// call of a burst far larger than the calls it requests ahead reaches the
// handler once, methods nobody serves stay UNIMPLEMENTED, and Stop returns
// after a shutdown (with calls still requested) and without a Start.
#include "server/edge/core_streaming_method.h"

#include <grpc/byte_buffer.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"

namespace leafsvc {
namespace {

constexpr char kPath[] = "/test.Streams/Stream";

// A stream that sends one message ("hello"), then the status OK; frees
// itself when both batches completed (on gRPC's callback threads, possibly
// at once).
class OneMessage final {
 public:
  explicit OneMessage(grpc_call* call) : call_(call) {
    grpc_slice bytes = grpc_slice_from_static_string("hello");
    message_ = grpc_raw_byte_buffer_create(&bytes, 1);
    grpc_op ops[3]{};
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = message_;
    ops[2].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[2].data.send_status_from_server.status = GRPC_STATUS_OK;
    EXPECT_EQ(grpc_call_start_batch(call_, ops, 3, sent_.core_tag(), nullptr), GRPC_CALL_OK);
    grpc_op close{};
    close.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    close.data.recv_close_on_server.cancelled = &cancelled_;
    EXPECT_EQ(grpc_call_start_batch(call_, &close, 1, closed_.core_tag(), nullptr), GRPC_CALL_OK);
  }

 private:
  class Tag final : public CompletionTag {
   public:
    explicit Tag(OneMessage* owner) : owner_(owner) {}
    void Complete(bool /*ok*/) override { owner_->Done(); }

   private:
    OneMessage* const owner_;
  };
  void Done() {
    if (--pending_ > 0) return;
    grpc_byte_buffer_destroy(message_);
    grpc_call_unref(call_);
    delete this;
  }

  grpc_call* const call_;
  grpc_byte_buffer* message_;
  int cancelled_ = 0;
  std::atomic<int> pending_{2};
  Tag sent_{this};
  Tag closed_{this};
};

class Server {
 public:
  Server() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    method_.RegisterOn(builder);
    server_ = builder.BuildAndStart();
    method_.Start(server_.get(), [this](const NewCoreCall& call) {
      ++calls_;
      EXPECT_NE(call.payload, nullptr);
      new OneMessage(call.call);
    });
  }
  ~Server() { Stop(); }
  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
    server_->Wait();
    method_.StopRequesting();
    method_.Release();  // every OneMessage started all its batches at once
  }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  int calls() const { return calls_.load(); }

 private:
  int port_ = 0;
  CoreStreamingMethod method_{kPath};
  std::unique_ptr<grpc::Server> server_;
  std::atomic<int> calls_{0};
  bool stopped_ = false;
};

void* Tag(intptr_t i) { return reinterpret_cast<void*>(i); }

TEST(CoreStreamingMethodTest, EveryCallOfABurstReachesTheHandlerOnce) {
  constexpr int kCalls = 300;  // far more than the calls requested ahead
  Server server;
  auto channel = grpc::CreateChannel(server.target(), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  struct Call {
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::GenericClientAsyncReaderWriter> stream;
    grpc::ByteBuffer message;
    grpc::Status status;
  };
  std::vector<std::unique_ptr<Call>> calls;
  for (int i = 0; i < kCalls; ++i) {
    auto c = std::make_unique<Call>();
    c->ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    c->stream = stub.PrepareCall(&c->ctx, kPath, &cq);
    c->stream->StartCall(Tag(4 * i));
    calls.push_back(std::move(c));
  }
  int finished = 0, messages = 0;
  while (finished < kCalls) {
    void* tag;
    bool ok;
    ASSERT_EQ(cq.AsyncNext(&tag, &ok, absl::ToChronoTime(absl::Now() + absl::Seconds(20))),
              grpc::CompletionQueue::GOT_EVENT);
    const intptr_t t = reinterpret_cast<intptr_t>(tag);
    Call& c = *calls[t / 4];
    switch (t % 4) {
      case 0: {  // started: send the request, half-close
        ASSERT_TRUE(ok);
        grpc::Slice request("request");
        grpc::ByteBuffer bytes(&request, 1);
        c.stream->WriteLast(bytes, grpc::WriteOptions(), Tag(t + 1));
        break;
      }
      case 1:  // written: read the message
        c.stream->Read(&c.message, Tag(t - 1 + 2));
        break;
      case 2:  // read
        if (ok) ++messages;
        c.stream->Finish(&c.status, Tag(t - 2 + 3));
        break;
      case 3:
        EXPECT_TRUE(c.status.ok()) << c.status.error_message();
        ++finished;
        break;
    }
  }
  EXPECT_EQ(messages, kCalls);
  EXPECT_EQ(server.calls(), kCalls);
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
}

TEST(CoreStreamingMethodTest, MethodsNobodyServesAreUnimplemented) {
  Server server;
  auto channel = grpc::CreateChannel(server.target(), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;
  auto call = stub.PrepareUnaryCall(&ctx, "/test.Streams/Other", request, &cq);
  call->StartCall();
  grpc::Status status;
  call->Finish(&response, &status, Tag(1));
  void* tag;
  bool ok;
  ASSERT_TRUE(cq.Next(&tag, &ok));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(server.calls(), 0);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

TEST(CoreStreamingMethodTest, StopReturnsAfterShutdownWithCallsStillRequested) {
  Server server;
  server.Stop();  // the requested calls complete not-ok; the thread ends
  EXPECT_EQ(server.calls(), 0);
}

TEST(CoreStreamingMethodTest, StopWithoutStartReturns) {
  CoreStreamingMethod method(kPath);
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  method.RegisterOn(builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  server->Shutdown();
  server->Wait();
  method.StopRequesting();
  method.Release();
  method.Release();  // idempotent
}

}  // namespace
}  // namespace leafsvc
