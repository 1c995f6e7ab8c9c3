// The "through the service" load generator: the asynchronous gRPC C++ API
// (CompletionQueue), one thread driving every call, like a caller would.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "bench/load.h"
#include "bench/load_grpc_util.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"

namespace bench {
namespace {

namespace v1 = ::leaf::agleader::v1;

// Deadline a caller would set; far above any latency measured here.
constexpr auto kCallDeadline = std::chrono::seconds(10);

struct Call {
  grpc::ClientContext context;
  v1::Credentials response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::Credentials>> rpc;
  Clock::time_point start;
  bool done = false;
};

}  // namespace

std::shared_ptr<grpc::Channel> Connect(const std::string& target, int index) {
  grpc::ChannelArguments args;
  // Distinct channels must not share one connection.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("bench.channel_index", index);
  auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return channel;
}

std::string CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::OK:
      return "OK";
    case grpc::CANCELLED:
      return "CANCELLED";
    case grpc::UNKNOWN:
      return "UNKNOWN";
    case grpc::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::INTERNAL:
      return "INTERNAL";
    case grpc::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "CODE_" + std::to_string(static_cast<int>(code));
  }
}

LoadResult RunGrpc(const std::string& target, const std::vector<std::string>& leaf_user_ids,
                   const LoadOptions& options) {
  LoadResult result;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<v1::AgLeaderCredentials::Stub>> stubs;
  for (int i = 0; i < std::max(1, options.channels); ++i) {
    channels.push_back(Connect(target, i));
    stubs.push_back(v1::AgLeaderCredentials::NewStub(channels.back()));
  }
  std::size_t next_stub = 0;
  std::size_t next_user = 0;
  grpc::CompletionQueue cq;
  std::vector<v1::GetCredentialsRequest> requests(leaf_user_ids.size());
  for (std::size_t i = 0; i < leaf_user_ids.size(); ++i) {
    requests[i].set_leaf_user_id(leaf_user_ids[i]);
  }
  result.latencies_ns.reserve(1 << 20);

  int in_flight = 0;
  auto start = [&] {
    auto* call = new Call;
    call->start = Clock::now();
    call->context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    auto& stub = stubs[next_stub++ % stubs.size()];
    const v1::GetCredentialsRequest& request = requests[next_user++ % requests.size()];
    call->rpc = stub->PrepareAsyncGetCredentials(&call->context, request, &cq);
    call->rpc->StartCall();
    call->rpc->Finish(&call->response, &call->status, call);
    ++in_flight;
  };

  MeasureWindow window(options, &result);
  for (int i = 0; i < options.concurrency; ++i) start();
  while (in_flight > 0) {
    void* tag = nullptr;
    bool ok = false;
    if (!cq.Next(&tag, &ok)) break;
    const Clock::time_point now = Clock::now();
    std::unique_ptr<Call> call(static_cast<Call*>(tag));
    --in_flight;
    window.Complete(now, call->start, call->status.ok() && !call->response.id().empty(), [&] {
      return CodeName(call->status.error_code()) + ": " + call->status.error_message();
    });
    if (!window.stopping()) start();
  }
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
  return result;
}

HoldResult HoldCalls(const std::string& target, const std::string& leaf_user_id,
                     const HoldOptions& options) {
  HoldResult result;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<v1::AgLeaderCredentials::Stub>> stubs;
  for (int i = 0; i < std::max(1, options.channels); ++i) {
    channels.push_back(Connect(target, i));
    stubs.push_back(v1::AgLeaderCredentials::NewStub(channels.back()));
  }
  grpc::CompletionQueue cq;
  v1::GetCredentialsRequest request;
  request.set_leaf_user_id(leaf_user_id);

  std::vector<std::unique_ptr<Call>> calls;
  calls.reserve(options.calls);
  for (int i = 0; i < options.calls; ++i) {
    auto call = std::make_unique<Call>();
    call->start = Clock::now();
    call->context.set_deadline(std::chrono::system_clock::now() + options.deadline);
    call->rpc = stubs[i % stubs.size()]->PrepareAsyncGetCredentials(&call->context, request, &cq);
    call->rpc->StartCall();
    call->rpc->Finish(&call->response, &call->status, call.get());
    calls.push_back(std::move(call));
  }
  result.started = options.calls;
  int pending = options.calls;

  auto complete = [&](void* tag) {
    auto* call = static_cast<Call*>(tag);
    call->done = true;
    ++result.final_codes[CodeName(call->status.error_code())];
    --pending;
  };
  // Keep polling the queue while holding: with gRPC's default polling engine
  // the thread in AsyncNext is what moves the client's bytes.
  const auto sample_at = std::chrono::system_clock::now() + options.hold;
  for (;;) {
    void* tag = nullptr;
    bool ok = false;
    const grpc::CompletionQueue::NextStatus st = cq.AsyncNext(&tag, &ok, sample_at);
    if (st != grpc::CompletionQueue::GOT_EVENT) break;
    complete(tag);
    ++result.completed_before_sample;
  }
  if (options.sample) options.sample();

  const Clock::time_point cancel_start = Clock::now();
  for (auto& call : calls) {
    if (!call->done) call->context.TryCancel();
  }
  while (pending > 0) {
    void* tag = nullptr;
    bool ok = false;
    if (!cq.Next(&tag, &ok)) break;
    complete(tag);
  }
  result.seconds_to_drain = std::chrono::duration<double>(Clock::now() - cancel_start).count();
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
  return result;
}

}  // namespace bench
