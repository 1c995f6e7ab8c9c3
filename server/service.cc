#include "server/service.h"

#include <atomic>
#include <memory>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/errors/reasons.h"
#include "server/leaf/leaf_errors.h"
#include "server/raw_unary.h"
#include "server/resources.h"
#include "server/rpc_record.h"
#include "server/util/happens_before.h"
#include "server/util/status_details.h"

namespace leafsvc {
namespace {

namespace v1 = ::leaf::agleader::v1;

// A unary reactor whose OnCancel cancels the Leaf exchange behind the RPC.
// The exchange's callback always runs exactly once and calls Finish. The
// callback may run (and gRPC may call OnDone) before the handler has stored
// the call handle, so the reactor is freed when both OnDone and SetCall are
// through.
class LeafReactor final : public grpc::ServerUnaryReactor {
 public:
  LeafReactor(std::atomic<int>* active, RpcRecord record, std::unique_ptr<RawResponse> messages)
      : active_(active), record_(std::move(record)), messages_(std::move(messages)) {
    active_->fetch_add(1);
  }

  leaf::CallOptions Options(leaf::CallOptions options) {
    options.request_id = record_.request_id();
    options.stats = record_.stats();
    return options;
  }

  void SetCall(std::shared_ptr<leaf::LeafCall> call) {
    bool cancel_now;
    {
      absl::MutexLock lock(&mu_);
      call_ = call;
      cancel_now = cancelled_;
    }
    if (cancel_now) call->Cancel();
    Unref();
  }

  void FinishWith(const absl::Status& status) {
    grpc::Status result = record_.Conclude(status);
    if (result.ok()) messages_->Write();
    // gRPC runs OnDone (which may free this) only after Finish.
    HappensBefore(this);
    Finish(std::move(result));
  }

  void OnCancel() override {
    std::shared_ptr<leaf::LeafCall> call;
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      call = call_;
    }
    if (call) call->Cancel();
  }

  void OnDone() override {
    HappensAfter(this);
    Unref();
  }

  // Run OnCancel and OnDone on the thread that triggers them instead of
  // gRPC's executor threads: both are short and never block (OnCancel asks
  // the exchange to end, OnDone drops references), and without this every
  // call paid one more thread wake-up for OnDone alone (bench, C=16: 2.9
  // -> 2.4 context switches per request, docs/performance.md). gRPC marks the hook
  // "not API" (grpcpp/support/server_callback.h, 1.51); its DefaultReactor
  // uses it the same way. What makes it safe here: OnDone can run inside
  // Finish (on the curl, scheduler or completion thread), so Finish is the
  // last thing FinishWith and every completion callback does, and the
  // exchange keeps itself alive through its own callbacks; gRPC never runs
  // OnDone inside OnCancel (the call holds a reference across OnCancel).
  bool InternalInlineable() override { return true; }

 private:
  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      active_->fetch_sub(1);
      delete this;
    }
  }

  std::atomic<int>* const active_;
  RpcRecord record_;
  // The call's request and response (the methods are registered raw).
  const std::unique_ptr<RawResponse> messages_;
  std::atomic<int> refs_{2};  // OnDone + SetCall
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<leaf::LeafCall> call_ ABSL_GUARDED_BY(mu_);
};

template <typename Request>
std::string LeafUserId(const Request& request) {
  return CanonicalLeafUserId(request.leaf_user_id());
}

grpc::ServerUnaryReactor* Reject(grpc::CallbackServerContext* context, RpcRecord& record,
                                 const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(record.Conclude(status));
  return reactor;
}

}  // namespace

AgLeaderCredentialsService::AgLeaderCredentialsService(leaf::LeafClient* leaf,
                                                       ServiceOptions options, Metrics* metrics)
    : leaf_(leaf),
      options_(std::move(options)),
      metrics_(metrics),
      validation_{options_.allow_full_view},
      page_tokens_(options_.page_token_key) {}

absl::Status AgLeaderCredentialsService::Admit() const {
  if (!draining_.load()) return absl::OkStatus();
  return MakeError(reasons::kShuttingDown,
                   "this server is shutting down; retry (another replica will answer)");
}

absl::StatusOr<leaf::CallOptions> AgLeaderCredentialsService::LeafCallOptions(
    const grpc::CallbackServerContext* context) const {
  const absl::Time ours = absl::Now() + options_.upstream_timeout;
  const absl::Time callers = absl::FromChrono(context->deadline());
  leaf::CallOptions call(std::min(ours, callers));
  const auto& metadata = context->client_metadata();
  auto token = metadata.find(kCallerLeafTokenKey);
  if (token == metadata.end()) return call;
  StatusDetails d;
  if (!options_.allow_caller_leaf_token) {
    return MakeError(reasons::kCallerLeafTokenNotAllowed,
                     "this server does not accept x-leaf-token metadata (it was not started "
                     "with --allow_caller_leaf_token); leave it out",
                     d);
  }
  const absl::string_view value(token->second.data(), token->second.size());
  bool printable = !value.empty() && value.size() <= kMaxSecretFieldBytes;
  for (unsigned char c : value) printable = printable && c > 0x20 && c < 0x7f;
  if (!printable) {
    d.field_violations.push_back({"x-leaf-token", "must be 1 to 8192 printable characters"});
    return MakeError(reasons::kInvalidRequest,
                     "invalid x-leaf-token metadata: must be 1 to 8192 printable characters", d);
  }
  call.leaf_token = Secret(std::string(value));
  return call;
}

absl::StatusOr<leaf::CallOptions> AgLeaderCredentialsService::Prepare(
    const grpc::CallbackServerContext* context, const absl::Status& validation) const {
  if (absl::Status st = Admit(); !st.ok()) return st;
  if (!validation.ok()) return validation;
  return LeafCallOptions(context);
}

grpc::ServerUnaryReactor* AgLeaderCredentialsService::GetCredentials(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw_request,
    grpc::ByteBuffer* raw_response) {
  auto call = std::make_unique<RawUnary<v1::GetCredentialsRequest, v1::Credentials>>(raw_response);
  if (absl::Status st = call->Parse(raw_request); !st.ok()) {
    RpcRecord record(context, "GetCredentials", "", metrics_);
    return Reject(context, record, st);
  }
  const v1::GetCredentialsRequest* request = &call->request;
  v1::Credentials* response = &call->response;
  const std::string user = LeafUserId(*request);
  RpcRecord record(context, "GetCredentials", user, metrics_);
  absl::StatusOr<leaf::CallOptions> options = Prepare(context, Validate(*request, validation_));
  if (!options.ok()) return Reject(context, record, options.status());
  auto* reactor = new LeafReactor(&active_calls_, std::move(record), std::move(call));
  const v1::CredentialsView view = request->view();
  reactor->SetCall(leaf_->GetCredentials(
      user, reactor->Options(*std::move(options)),
      [reactor, response, user, view](absl::StatusOr<leaf::ProviderCredentials> result) {
        if (result.ok()) ToProto(*result, user, view, response);
        reactor->FinishWith(result.status());
      }));
  return reactor;
}

grpc::ServerUnaryReactor* AgLeaderCredentialsService::CreateCredentials(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw_request,
    grpc::ByteBuffer* raw_response) {
  auto call =
      std::make_unique<RawUnary<v1::CreateCredentialsRequest, v1::Credentials>>(raw_response);
  if (absl::Status st = call->Parse(raw_request); !st.ok()) {
    RpcRecord record(context, "CreateCredentials", "", metrics_);
    return Reject(context, record, st);
  }
  const v1::CreateCredentialsRequest* request = &call->request;
  v1::Credentials* response = &call->response;
  const std::string user = LeafUserId(*request);
  RpcRecord record(context, "CreateCredentials", user, metrics_);
  for (const std::string* secret :
       {&request->refresh_token(), &request->private_key(), &request->access_token()}) {
    record.AddCallSecret(*secret);
  }
  absl::StatusOr<leaf::CallOptions> options = Prepare(context, Validate(*request, validation_));
  if (!options.ok()) return Reject(context, record, options.status());
  const leaf::NewProviderCredentials credentials = FromProto(*request);

  auto* reactor = new LeafReactor(&active_calls_, std::move(record), std::move(call));
  const v1::CredentialsView view = request->view();
  reactor->SetCall(leaf_->CreateCredentials(
      user, credentials, reactor->Options(*std::move(options)),
      [reactor, response, user, view](absl::StatusOr<leaf::ProviderCredentials> result) {
        if (result.ok()) ToProto(*result, user, view, response);
        reactor->FinishWith(result.status());
      }));
  return reactor;
}

grpc::ServerUnaryReactor* AgLeaderCredentialsService::DeleteCredentials(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw_request,
    grpc::ByteBuffer* raw_response) {
  auto call = std::make_unique<RawUnary<v1::DeleteCredentialsRequest, google::protobuf::Empty>>(
      raw_response);
  if (absl::Status st = call->Parse(raw_request); !st.ok()) {
    RpcRecord record(context, "DeleteCredentials", "", metrics_);
    return Reject(context, record, st);
  }
  const v1::DeleteCredentialsRequest* request = &call->request;
  const std::string user = LeafUserId(*request);
  RpcRecord record(context, "DeleteCredentials", user, metrics_);
  absl::StatusOr<leaf::CallOptions> options = Prepare(context, Validate(*request));
  if (!options.ok()) return Reject(context, record, options.status());
  auto* reactor = new LeafReactor(&active_calls_, std::move(record), std::move(call));
  const bool allow_missing = request->allow_missing();
  reactor->SetCall(leaf_->DeleteCredentials(
      user, reactor->Options(*std::move(options)), [reactor, allow_missing](absl::Status status) {
        if (allow_missing && absl::IsNotFound(status) &&
            GetStatusDetails(status).reason == leaf::kReasonCredentialsNotFound) {
          status = absl::OkStatus();
        }
        reactor->FinishWith(status);
      }));
  return reactor;
}

grpc::ServerUnaryReactor* AgLeaderCredentialsService::ListCredentialEvents(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw_request,
    grpc::ByteBuffer* raw_response) {
  auto call =
      std::make_unique<RawUnary<v1::ListCredentialEventsRequest, v1::ListCredentialEventsResponse>>(
          raw_response);
  if (absl::Status st = call->Parse(raw_request); !st.ok()) {
    RpcRecord record(context, "ListCredentialEvents", "", metrics_);
    return Reject(context, record, st);
  }
  const v1::ListCredentialEventsRequest* request = &call->request;
  v1::ListCredentialEventsResponse* response = &call->response;
  const std::string user = LeafUserId(*request);
  RpcRecord record(context, "ListCredentialEvents", user, metrics_);
  absl::StatusOr<leaf::CallOptions> options = Prepare(context, Validate(*request, validation_));
  if (!options.ok()) return Reject(context, record, options.status());
  std::optional<PageCursor> cursor;
  if (!request->page_token().empty()) {
    absl::StatusOr<PageCursor> decoded = page_tokens_.Decode(request->page_token(), user);
    if (!decoded.ok()) return Reject(context, record, decoded.status());
    cursor = *std::move(decoded);
  }
  const int page_size = request->page_size() > 0 ? request->page_size() : kDefaultPageSize;
  auto* reactor = new LeafReactor(&active_calls_, std::move(record), std::move(call));
  const v1::CredentialsView view = request->view();
  reactor->SetCall(leaf_->ListEvents(
      user, reactor->Options(*std::move(options)),
      [this, reactor, response, user, cursor, page_size,
       view](absl::StatusOr<std::vector<leaf::CredentialEvent>> result) {
        absl::StatusOr<EventPage> page =
            result.ok() ? SelectEventPage(*std::move(result), user, cursor ? &*cursor : nullptr,
                                          page_size, page_tokens_)
                        : absl::StatusOr<EventPage>(result.status());
        if (page.ok()) {
          response->mutable_events()->Reserve(static_cast<int>(page->events.size()));
          for (const leaf::CredentialEvent& e : page->events) {
            ToProto(e, user, view, response->add_events());
          }
          response->set_next_page_token(std::move(page->next_page_token));
        }
        reactor->FinishWith(page.status());
      }));
  return reactor;
}

}  // namespace leafsvc
