// ListCredentials and BatchGetCredentials: the service's many-user calls.
// Each runs an operation (UserListing, BatchGet) made of several Leaf calls;
// the reactor cancels it when the RPC is cancelled and finishes when it
// reports. Same admission, validation and Leaf call options as the one-user
// calls (service.cc).
#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "server/batch_get.h"
#include "server/batch_list.h"
#include "server/grpc_status.h"
#include "server/raw_unary.h"
#include "server/resources.h"
#include "server/rpc_record.h"
#include "server/service.h"
#include "server/util/happens_before.h"
#include "server/util/status_details.h"

namespace leafsvc {
namespace {

namespace v1 = ::leaf::agleader::v1;

// Owns nothing but the RPC's record; `op` is set before anything can cancel
// the RPC and outlives it (the operation's callbacks hold it).
class OperationReactor final : public grpc::ServerUnaryReactor {
 public:
  OperationReactor(std::atomic<int>* active, RpcRecord record, std::shared_ptr<leaf::LeafCall> op,
                   std::unique_ptr<RawResponse> messages)
      : active_(active),
        record_(std::move(record)),
        op_(std::move(op)),
        messages_(std::move(messages)) {
    active_->fetch_add(1);
  }

  void FinishWith(const absl::Status& status) {
    grpc::Status result = record_.Conclude(status);
    if (result.ok()) messages_->Write();
    // gRPC runs OnDone (which frees this) only after Finish.
    HappensBefore(this);
    Finish(std::move(result));
  }
  void OnCancel() override { op_->Cancel(); }
  void OnDone() override {
    HappensAfter(this);
    active_->fetch_sub(1);
    delete this;
  }

 private:
  std::atomic<int>* const active_;
  RpcRecord record_;
  const std::shared_ptr<leaf::LeafCall> op_;
  // The call's request and response (the methods are registered raw).
  const std::unique_ptr<RawResponse> messages_;
};

grpc::ServerUnaryReactor* RejectWith(grpc::CallbackServerContext* context, RpcRecord& record,
                                     const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(record.Conclude(status));
  return reactor;
}

// The end of the batch: a little before the caller's deadline, so that the
// results gathered reach the caller before it gives up on the call.
absl::Time BatchDeadline(const grpc::CallbackServerContext* context) {
  const absl::Time callers = absl::FromChrono(context->deadline());
  if (callers == absl::InfiniteFuture()) return callers;
  const absl::Duration left = callers - absl::Now();
  return callers - std::min(absl::Seconds(1), left / 10);
}

void ToResult(const BatchGet::Result& r, const std::string& user, v1::CredentialsView view,
              v1::BatchGetCredentialsResult* out) {
  out->set_leaf_user_id(user);
  if (r.ok()) {
    ToProto(*r, user, view, out->mutable_credentials());
    return;
  }
  absl::Status status = r.status();
  SetStatusMetadata(status, "leaf_user_id", user);
  out->mutable_error()->ParseFromString(ToGrpcStatus(status).error_details());
}

}  // namespace

grpc::ServerUnaryReactor* AgLeaderCredentialsService::ListCredentials(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw_request,
    grpc::ByteBuffer* raw_response) {
  auto call = std::make_unique<RawUnary<v1::ListCredentialsRequest, v1::ListCredentialsResponse>>(
      raw_response);
  if (absl::Status st = call->Parse(raw_request); !st.ok()) {
    RpcRecord record(context, "ListCredentials", "", metrics_);
    return RejectWith(context, record, st);
  }
  const v1::ListCredentialsRequest* request = &call->request;
  v1::ListCredentialsResponse* response = &call->response;
  RpcRecord record(context, "ListCredentials", "", metrics_);
  absl::StatusOr<leaf::CallOptions> options = Prepare(context, Validate(*request, validation_));
  if (!options.ok()) return RejectWith(context, record, options.status());
  std::vector<int> statuses(request->statuses().begin(), request->statuses().end());
  const std::string filter_key = StatusFilterKey(statuses);
  const ListTokenCodec tokens(&page_tokens_);
  const int page_size = request->page_size() > 0 ? request->page_size() : kDefaultPageSize;
  // Leaf pages at least as large as the caller's: fewer requests to Leaf.
  ListCursor start{0, std::max(options_.leaf_users_page_size, page_size)};
  if (!request->page_token().empty()) {
    absl::StatusOr<ListCursor> decoded = tokens.Decode(request->page_token(), filter_key);
    if (!decoded.ok()) return RejectWith(context, record, decoded.status());
    start = *decoded;
  }
  UserListing::Filter filter = [statuses](const leaf::ProviderCredentials& c) {
    if (statuses.empty()) return true;
    return std::find(statuses.begin(), statuses.end(), ToCredentialStatus(c.status)) !=
           statuses.end();
  };
  // Half the time for reading Leaf pages, the page in flight included: the
  // answer is back by then whatever Leaf does (docs/api.md).
  const absl::Time now = absl::Now();
  const absl::Time soft_deadline = now + (options->deadline - now) / 2;
  leaf::CallOptions call_options = *std::move(options);
  call_options.request_id = record.request_id();
  auto listing = std::make_shared<UserListing>(
      [this, call_options](int page, int size, absl::Time deadline,
                           UserListing::FetchDone done) {
        leaf::CallOptions page_options = call_options;
        page_options.deadline = std::min(page_options.deadline, deadline);
        return leaf_->ListUsers(page, size, page_options, std::move(done));
      },
      start, page_size, std::move(filter), soft_deadline);
  auto* reactor = new OperationReactor(&active_calls_, std::move(record), listing, std::move(call));
  const v1::CredentialsView view = request->view();
  listing->Start(
      [reactor, response, view, tokens, filter_key](absl::StatusOr<ListingResult> result) {
        if (!result.ok()) return reactor->FinishWith(result.status());
        if (result->next) {
          absl::StatusOr<std::string> token = tokens.Encode(*result->next, filter_key);
          if (!token.ok()) return reactor->FinishWith(token.status());
          response->set_next_page_token(*std::move(token));
        }
        response->mutable_credentials()->Reserve(static_cast<int>(result->users.size()));
        for (const leaf::LeafUser& u : result->users) {
          ToProto(*u.credentials, CanonicalLeafUserId(u.id), view, response->add_credentials());
        }
        if (result->total_count) response->set_total_size(*result->total_count);
        reactor->FinishWith(absl::OkStatus());
      });
  return reactor;
}

grpc::ServerUnaryReactor* AgLeaderCredentialsService::BatchGetCredentials(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw_request,
    grpc::ByteBuffer* raw_response) {
  auto call =
      std::make_unique<RawUnary<v1::BatchGetCredentialsRequest, v1::BatchGetCredentialsResponse>>(
          raw_response);
  if (absl::Status st = call->Parse(raw_request); !st.ok()) {
    RpcRecord record(context, "BatchGetCredentials", "", metrics_);
    return RejectWith(context, record, st);
  }
  const v1::BatchGetCredentialsRequest* request = &call->request;
  v1::BatchGetCredentialsResponse* response = &call->response;
  RpcRecord record(context, "BatchGetCredentials", "", metrics_);
  absl::StatusOr<leaf::CallOptions> options = Prepare(context, Validate(*request, validation_));
  if (!options.ok()) return RejectWith(context, record, options.status());
  const absl::Time batch_deadline = BatchDeadline(context);
  // Sent to Leaf and answered in the one spelling of GetCredentials.
  std::vector<std::string> ids;
  ids.reserve(request->leaf_user_ids_size());
  for (const std::string& id : request->leaf_user_ids()) ids.push_back(CanonicalLeafUserId(id));
  leaf::CallOptions base = *std::move(options);
  base.request_id = record.request_id();
  // Each user gets --upstream_timeout from its own start, within the batch.
  auto batch = std::make_shared<BatchGet>(
      ids, options_.batch_fan_out, batch_deadline,
      [this, base, batch_deadline](const std::string& user, BatchGet::FetchDone done) {
        leaf::CallOptions call = base;
        call.deadline = std::min(absl::Now() + options_.upstream_timeout, batch_deadline);
        return leaf_->GetCredentials(user, call, std::move(done));
      });
  auto* reactor = new OperationReactor(&active_calls_, std::move(record), batch, std::move(call));
  const v1::CredentialsView view = request->view();
  batch->Start([reactor, response, view, ids](std::vector<BatchGet::Result> results) {
    response->mutable_results()->Reserve(static_cast<int>(results.size()));
    for (size_t i = 0; i < results.size(); ++i) {
      ToResult(results[i], ids[i], view, response->add_results());
    }
    reactor->FinishWith(absl::OkStatus());
  });
  return reactor;
}

}  // namespace leafsvc
