// WatchCredentials (server/edge/service.h): each call the core matches
// (server/edge/core_streaming_method.h) is admitted like a unary call and
// becomes a WatchStream (server/edge/watch_stream.h). The request arrives as
// bytes like the unary ones' and is parsed here (MALFORMED_REQUEST).
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/edge/client_metadata.h"
#include "server/edge/core_streaming_method.h"
#include "server/edge/method_table.h"
#include "server/edge/rpc_record.h"
#include "server/edge/service.h"
#include "server/edge/watch_stream.h"
#include "server/security/caller_auth.h"

namespace leafsvc {
namespace {

namespace v1 = ::leaf::agleader::v1;

// Who a stream counts against for --watch_max_users_per_caller: its API key
// when the listener authenticated one, else its IP address (without the
// port, so one host's many connections are one caller).
std::string WatchCaller(grpc_call* call) {
  if (grpc_auth_context* auth = grpc_call_auth_context(call)) {
    grpc_auth_property_iterator it =
        grpc_auth_context_find_properties_by_name(auth, kApiKeyIdProperty);
    const grpc_auth_property* id = grpc_auth_property_iterator_next(&it);
    std::string key = id == nullptr ? "" : std::string(id->value, id->value_length);
    grpc_auth_context_release(auth);
    if (id != nullptr) return absl::StrCat("key:", key);
  }
  char* peer_chars = grpc_call_get_peer(call);  // "ipv4:10.0.0.1:5000", "ipv6:[::1]:5000"
  const std::string peer = peer_chars == nullptr ? "" : peer_chars;
  gpr_free(peer_chars);
  absl::string_view host = peer;
  if (absl::ConsumePrefix(&host, "ipv4:")) {
    host = host.substr(0, host.rfind(':'));
  } else if (absl::ConsumePrefix(&host, "ipv6:")) {
    if (absl::StartsWith(host, "[")) host = host.substr(1, host.find(']') - 1);
  }
  return absl::StrCat("ip:", host);
}
// The caller's deadline (InfiniteFuture when it set none).
absl::Time DeadlineOf(gpr_timespec deadline) {
  const gpr_timespec real = gpr_convert_clock_type(deadline, GPR_CLOCK_REALTIME);
  if (gpr_time_cmp(real, gpr_inf_future(GPR_CLOCK_REALTIME)) == 0) return absl::InfiniteFuture();
  return absl::FromUnixSeconds(real.tv_sec) + absl::Nanoseconds(real.tv_nsec);
}

// The request's bytes as the raw methods get them (null: none sent).
std::unique_ptr<grpc::ByteBuffer> RequestBytes(grpc_byte_buffer* payload) {
  if (payload == nullptr) return nullptr;
  grpc_byte_buffer_reader reader;
  if (!grpc_byte_buffer_reader_init(&reader, payload)) return nullptr;
  grpc::Slice all(grpc_byte_buffer_reader_readall(&reader), grpc::Slice::STEAL_REF);
  grpc_byte_buffer_reader_destroy(&reader);
  return std::make_unique<grpc::ByteBuffer>(&all, 1);
}
}  // namespace

void AgLeaderCredentialsService::RegisterWatchOn(grpc::ServerBuilder& builder) {
  watch_method_.RegisterOn(builder);
}

void AgLeaderCredentialsService::StartWatch(grpc::Server* server) {
  watch_method_.Start(server, [this](const NewCoreCall& call) { OpenWatch(call); });
}

void AgLeaderCredentialsService::StopWatch() {
  // After the server's Shutdown every call is cancelled, but a stream may
  // still have batches to start and complete (its status goes out on its
  // cancelled call): first no call is requested any more (so no stream
  // starts), then every stream is done, then the completion queue may go.
  watch_method_.StopRequesting();
  open_watches_.WaitForNone();
  watch_method_.Release();
}

void AgLeaderCredentialsService::OpenWatch(const NewCoreCall& call) {
  // Parsed, admitted (draining, the request's rules, the x-leaf-token rule)
  // and recorded like every unary call; reads are shared, so an allowed
  // caller token is not used. The request's bytes and metadata are not
  // kept: the core frees them when this returns.
  WatchStream* stream = WatchStream::New(call.call, watch_, metrics_, &open_watches_);
  v1::WatchCredentialsRequest request;
  std::unique_ptr<grpc::ByteBuffer> bytes = RequestBytes(call.payload);
  Admission admission =
      pipeline_.Admit(methods::WatchCredentials(), CoreClientMetadata(*call.metadata),
                      DeadlineOf(call.deadline), stream->TrailerSink(), bytes.get(), &request);
  bytes.reset();
  if (admission.scope.ok() && watch_ == nullptr) {
    admission.scope = absl::UnimplementedError("this server was built without watch support");
  }
  stream->Open(std::move(admission.record), request.view());
  if (!admission.scope.ok()) {
    stream->Refuse(admission.scope.status());
    return;
  }
  stream->Begin(request.leaf_user_ids(), WatchCaller(call.call), request.resume_token());
}

}  // namespace leafsvc
