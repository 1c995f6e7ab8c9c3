// The AgLeaderCredentials gRPC service (callback API): each unary method is
// a row of the method table (server/edge/method_table.h) run by the one unary
// pipeline (server/edge/unary_pipeline.h), which starts the Leaf operation and
// returns; the operation's completion (on the HTTP transport's thread)
// finishes the RPC. No gRPC thread waits on the network. A cancelled RPC
// cancels its operation; the caller's remaining deadline caps the upstream
// timeout. WatchCredentials (service_watch.cc) is admitted the same way.
#ifndef SERVER_EDGE_SERVICE_H_
#define SERVER_EDGE_SERVICE_H_

#include <atomic>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"
#include "server/edge/core_streaming_method.h"
#include "server/edge/unary_pipeline.h"
#include "server/edge/validation.h"
#include "server/edge/watch_stream.h"
#include "server/leaf/leaf_client.h"
#include "server/observability/metrics.h"
#include "server/operations/event_pages.h"
#include "server/watch/watch_hub.h"

namespace leafsvc {

struct ServiceOptions {
  // What the methods use (the upstream timeout, batch fan-out, Leaf page
  // size).
  MethodOptions methods;
  bool allow_full_view = false;
  // Accept a caller's own Leaf token in the x-leaf-token metadata key.
  bool allow_caller_leaf_token = false;
  std::string page_token_key;
  // Leaf's request budget, for the figures bulk methods tell their callers
  // (may be null: no figures).
  const budget::RequestBudget* budget = nullptr;
  // Connect links (null: CreateConnectLink and GetConnectLink fail with
  // CONNECT_NOT_CONFIGURED); must outlive the service.
  connect::ConnectLinks* connect = nullptr;
};

// Every method is registered raw (requests arrive as bytes; see
// server/edge/raw_unary.h): a request gRPC could not parse is answered
// INVALID_ARGUMENT MALFORMED_REQUEST, logged and counted, not UNIMPLEMENTED.
namespace agleader_v1 = ::leaf::agleader::v1;
// WatchCredentials is served on gRPC's core API (watch_method_): marked
// generic here, so the C++ API registers nothing for it.
using AgLeaderCredentialsBase =
    agleader_v1::AgLeaderCredentials::WithGenericMethod_WatchCredentials<
        agleader_v1::AgLeaderCredentials::WithRawCallbackMethod_GetCredentials<
            agleader_v1::AgLeaderCredentials::WithRawCallbackMethod_CreateCredentials<
                agleader_v1::AgLeaderCredentials::WithRawCallbackMethod_DeleteCredentials<
                    agleader_v1::AgLeaderCredentials::WithRawCallbackMethod_ListCredentialEvents<
                        agleader_v1::AgLeaderCredentials::WithRawCallbackMethod_ListCredentials<
                            agleader_v1::AgLeaderCredentials::
                                WithRawCallbackMethod_BatchGetCredentials<
                                    agleader_v1::AgLeaderCredentials::
                                        WithRawCallbackMethod_CreateConnectLink<
                                            agleader_v1::AgLeaderCredentials::
                                                WithRawCallbackMethod_GetConnectLink<
                                                    agleader_v1::AgLeaderCredentials::
                                                        CallbackService>>>>>>>>>;

class AgLeaderCredentialsService final : public AgLeaderCredentialsBase {
 public:
  // `metrics` may be null (no metrics); both must outlive the service.
  AgLeaderCredentialsService(leaf::LeafClient* leaf, ServiceOptions options,
                             Metrics* metrics = nullptr);

  grpc::ServerUnaryReactor* GetCredentials(grpc::CallbackServerContext* context,
                                           const grpc::ByteBuffer* request,
                                           grpc::ByteBuffer* response) override;

  grpc::ServerUnaryReactor* CreateCredentials(grpc::CallbackServerContext* context,
                                              const grpc::ByteBuffer* request,
                                              grpc::ByteBuffer* response) override;

  grpc::ServerUnaryReactor* DeleteCredentials(grpc::CallbackServerContext* context,
                                              const grpc::ByteBuffer* request,
                                              grpc::ByteBuffer* response) override;

  // From now on new calls fail with UNAVAILABLE (reason SHUTTING_DOWN);
  // calls already running go on.
  void StartDraining() { pipeline_.StartDraining(); }
  // Unary calls started and not yet done.
  int active_calls() const { return pipeline_.active_calls(); }

  grpc::ServerUnaryReactor* ListCredentialEvents(grpc::CallbackServerContext* context,
                                                 const grpc::ByteBuffer* request,
                                                 grpc::ByteBuffer* response) override;

  // service_bulk.cc
  grpc::ServerUnaryReactor* ListCredentials(grpc::CallbackServerContext* context,
                                            const grpc::ByteBuffer* request,
                                            grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* BatchGetCredentials(grpc::CallbackServerContext* context,
                                                const grpc::ByteBuffer* request,
                                                grpc::ByteBuffer* response) override;
  // connect_rows.cc
  grpc::ServerUnaryReactor* CreateConnectLink(grpc::CallbackServerContext* context,
                                              const grpc::ByteBuffer* request,
                                              grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetConnectLink(grpc::CallbackServerContext* context,
                                           const grpc::ByteBuffer* request,
                                           grpc::ByteBuffer* response) override;
  // WatchCredentials (service_watch.cc), on gRPC's core API: streams
  // changes from the hub. Without a hub (SetWatchHub not called) the RPC is
  // UNIMPLEMENTED. RegisterWatchOn before the builder's BuildAndStart (as
  // well as RegisterService), StartWatch after it, StopWatch after the
  // server's Shutdown returned.
  void RegisterWatchOn(grpc::ServerBuilder& builder);
  void StartWatch(grpc::Server* server);
  void StopWatch();
  // Call before serving; `hub` must outlive the service.
  void SetWatchHub(watch::WatchHub* hub) { watch_ = hub; }

 private:
  Metrics* const metrics_;
  const PageTokenCodec page_tokens_;
  UnaryPipeline pipeline_;
  watch::WatchHub* watch_ = nullptr;
  OpenStreams open_watches_;
  CoreStreamingMethod watch_method_{"/leaf.agleader.v1.AgLeaderCredentials/WatchCredentials"};
  // A stream for a call the core matched (on a gRPC callback thread).
  void OpenWatch(const NewCoreCall& call);
};

}  // namespace leafsvc

#endif  // SERVER_EDGE_SERVICE_H_
