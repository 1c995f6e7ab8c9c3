#include "server/edge/method_table.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "server/budget/budgeted_http_client.h"
#include "server/edge/grpc_status.h"
#include "server/edge/resources.h"
#include "server/errors/status_details.h"
#include "server/ids/leaf_user_id.h"
#include "server/leaf/leaf_errors.h"

namespace leafsvc::methods {
namespace {

template <typename Request>
std::string OneUser(const Request& request) {
  return CanonicalLeafUserId(request.leaf_user_id());
}

std::vector<absl::string_view> CreateSecrets(const v1::CreateCredentialsRequest& request) {
  return {request.refresh_token(), request.private_key(), request.access_token()};
}

template <typename Request>
absl::Status ValidateWithOptions(const Request& request, const MethodEnv& env) {
  return Validate(request, env.validation);
}

absl::Status ValidateDelete(const v1::DeleteCredentialsRequest& request, const MethodEnv&) {
  return Validate(request);
}

template <typename Request>
absl::Status CredentialsResponse(const MethodEnv&, const Request& request,
                                 leaf::ProviderCredentials result, v1::Credentials* response) {
  ToProto(result, OneUser(request), request.view(), response);
  return absl::OkStatus();
}

int PageSize(int requested) { return requested > 0 ? requested : kDefaultPageSize; }

// The end of a batch: a little before the caller's deadline, so that the
// results gathered reach the caller before it gives up on the call.
absl::Time BatchDeadline(absl::Time callers) {
  if (callers == absl::InfiniteFuture()) return callers;
  const absl::Duration left = callers - absl::Now();
  return callers - std::min(absl::Seconds(1), left / 10);
}

std::vector<int> Statuses(const v1::ListCredentialsRequest& request) {
  return std::vector<int>(request.statuses().begin(), request.statuses().end());
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

// Sent to Leaf and answered in the one spelling of GetCredentials.
std::vector<std::string> BatchIds(const v1::BatchGetCredentialsRequest& request) {
  std::vector<std::string> ids;
  ids.reserve(request.leaf_user_ids_size());
  for (const std::string& id : request.leaf_user_ids()) ids.push_back(CanonicalLeafUserId(id));
  return ids;
}

UnaryMethod<v1::GetCredentialsRequest, v1::Credentials, leaf::ProviderCredentials> MakeGet() {
  UnaryMethod<v1::GetCredentialsRequest, v1::Credentials, leaf::ProviderCredentials> m;
  m.name = "GetCredentials";
  m.leaf_user = &OneUser<v1::GetCredentialsRequest>;
  m.validate = &ValidateWithOptions<v1::GetCredentialsRequest>;
  m.start = [](const MethodEnv& env, const v1::GetCredentialsRequest& request,
               const CallScope& scope, auto done) {
    return env.leaf->GetCredentials(OneUser(request), scope.leaf, std::move(done));
  };
  m.respond = &CredentialsResponse<v1::GetCredentialsRequest>;
  return m;
}

UnaryMethod<v1::CreateCredentialsRequest, v1::Credentials, leaf::ProviderCredentials> MakeCreate() {
  UnaryMethod<v1::CreateCredentialsRequest, v1::Credentials, leaf::ProviderCredentials> m;
  m.name = "CreateCredentials";
  m.leaf_user = &OneUser<v1::CreateCredentialsRequest>;
  m.secrets = &CreateSecrets;
  m.validate = &ValidateWithOptions<v1::CreateCredentialsRequest>;
  m.start = [](const MethodEnv& env, const v1::CreateCredentialsRequest& request,
               const CallScope& scope, auto done) {
    return env.leaf->CreateCredentials(OneUser(request), FromProto(request, env.leaf->provider()),
                                       scope.leaf, std::move(done));
  };
  m.respond = &CredentialsResponse<v1::CreateCredentialsRequest>;
  return m;
}

UnaryMethod<v1::DeleteCredentialsRequest, google::protobuf::Empty, Deleted> MakeDelete() {
  UnaryMethod<v1::DeleteCredentialsRequest, google::protobuf::Empty, Deleted> m;
  m.name = "DeleteCredentials";
  m.leaf_user = &OneUser<v1::DeleteCredentialsRequest>;
  m.validate = &ValidateDelete;
  m.start = [](const MethodEnv& env, const v1::DeleteCredentialsRequest& request,
               const CallScope& scope, auto done) {
    const bool allow_missing = request.allow_missing();
    return env.leaf->DeleteCredentials(
        OneUser(request), scope.leaf, [done, allow_missing](absl::Status status) {
          if (allow_missing && absl::IsNotFound(status) &&
              GetStatusDetails(status).reason == leaf::kReasonCredentialsNotFound) {
            status = absl::OkStatus();
          }
          if (!status.ok()) return done(status);
          done(Deleted{});
        });
  };
  m.respond = [](const MethodEnv&, const v1::DeleteCredentialsRequest&, Deleted,
                 google::protobuf::Empty*) { return absl::OkStatus(); };
  return m;
}

UnaryMethod<v1::ListCredentialEventsRequest, v1::ListCredentialEventsResponse, EventPage>
MakeListEvents() {
  UnaryMethod<v1::ListCredentialEventsRequest, v1::ListCredentialEventsResponse, EventPage> m;
  m.name = "ListCredentialEvents";
  m.leaf_user = &OneUser<v1::ListCredentialEventsRequest>;
  m.validate = &ValidateWithOptions<v1::ListCredentialEventsRequest>;
  m.start = [](const MethodEnv& env, const v1::ListCredentialEventsRequest& request,
               const CallScope& scope, auto done) -> std::shared_ptr<leaf::Cancellable> {
    const std::string user = OneUser(request);
    std::optional<PageCursor> cursor;
    if (!request.page_token().empty()) {
      absl::StatusOr<PageCursor> decoded = env.page_tokens->Decode(request.page_token(), user);
      if (!decoded.ok()) {
        done(decoded.status());
        return nullptr;
      }
      cursor = *std::move(decoded);
    }
    const int page_size = PageSize(request.page_size());
    const PageTokenCodec* tokens = env.page_tokens;
    return env.leaf->ListEvents(
        user, scope.leaf,
        [done, user, cursor, page_size,
         tokens](absl::StatusOr<std::vector<leaf::CredentialEvent>> result) {
          if (!result.ok()) return done(result.status());
          done(SelectEventPage(*std::move(result), user, cursor ? &*cursor : nullptr, page_size,
                               *tokens));
        });
  };
  m.respond = [](const MethodEnv&, const v1::ListCredentialEventsRequest& request, EventPage page,
                 v1::ListCredentialEventsResponse* response) {
    const std::string user = OneUser(request);
    response->mutable_events()->Reserve(static_cast<int>(page.events.size()));
    for (const leaf::CredentialEvent& e : page.events) {
      ToProto(e, user, request.view(), response->add_events());
    }
    response->set_next_page_token(std::move(page.next_page_token));
    return absl::OkStatus();
  };
  return m;
}

UnaryMethod<v1::ListCredentialsRequest, v1::ListCredentialsResponse, ListingResult>
MakeListCredentials() {
  UnaryMethod<v1::ListCredentialsRequest, v1::ListCredentialsResponse, ListingResult> m;
  m.name = "ListCredentials";
  m.leaf_priority = budget::PriorityOf(budget::RequestClass::kBulk);
  m.validate = &ValidateWithOptions<v1::ListCredentialsRequest>;
  m.start = [](const MethodEnv& env, const v1::ListCredentialsRequest& request,
               const CallScope& scope, auto done) -> std::shared_ptr<leaf::Cancellable> {
    std::vector<int> statuses = Statuses(request);
    const ListTokenCodec tokens(env.page_tokens);
    const int page_size = PageSize(request.page_size());
    // Leaf pages at least as large as the caller's: fewer requests to Leaf.
    ListCursor start{0, std::max(env.options.leaf_users_page_size, page_size)};
    if (!request.page_token().empty()) {
      absl::StatusOr<ListCursor> decoded =
          tokens.Decode(request.page_token(), StatusFilterKey(statuses));
      if (!decoded.ok()) {
        done(decoded.status());
        return nullptr;
      }
      start = *decoded;
    }
    UserListing::Filter filter = [statuses](const leaf::ProviderCredentials& c) {
      return statuses.empty() || std::find(statuses.begin(), statuses.end(),
                                           ToCredentialStatus(c.status)) != statuses.end();
    };
    // Half the time for reading Leaf pages, the page in flight included:
    // the answer is back by then whatever Leaf does (docs/api.md).
    const absl::Time now = absl::Now();
    const absl::Time soft_deadline = now + (scope.leaf.deadline - now) / 2;
    leaf::CallOptions options = scope.leaf;
    // Pages may overlap no call's stats: the record counts the call, not
    // each page.
    options.stats = nullptr;
    leaf::LeafClient* leaf = env.leaf;
    auto listing = std::make_shared<UserListing>(
        [leaf, options](int page, int size, absl::Time deadline, UserListing::FetchDone fetched) {
          leaf::CallOptions page_options = options;
          page_options.deadline = std::min(page_options.deadline, deadline);
          return leaf->ListUsers(page, size, page_options, std::move(fetched));
        },
        start, page_size, std::move(filter), soft_deadline);
    listing->Start(std::move(done));
    return listing;
  };
  m.respond = [](const MethodEnv& env, const v1::ListCredentialsRequest& request,
                 ListingResult result, v1::ListCredentialsResponse* response) -> absl::Status {
    if (result.next) {
      absl::StatusOr<std::string> token =
          ListTokenCodec(env.page_tokens).Encode(*result.next, StatusFilterKey(Statuses(request)));
      if (!token.ok()) return token.status();
      response->set_next_page_token(*std::move(token));
    }
    response->mutable_credentials()->Reserve(static_cast<int>(result.users.size()));
    for (const leaf::LeafUser& u : result.users) {
      ToProto(*u.credentials, CanonicalLeafUserId(u.id), request.view(),
              response->add_credentials());
    }
    if (result.total_count) response->set_total_size(*result.total_count);
    return absl::OkStatus();
  };
  return m;
}

UnaryMethod<v1::BatchGetCredentialsRequest, v1::BatchGetCredentialsResponse,
            std::vector<BatchGet::Result>>
MakeBatchGet() {
  UnaryMethod<v1::BatchGetCredentialsRequest, v1::BatchGetCredentialsResponse,
              std::vector<BatchGet::Result>>
      m;
  m.name = "BatchGetCredentials";
  m.leaf_priority = budget::PriorityOf(budget::RequestClass::kBulk);
  m.validate = &ValidateWithOptions<v1::BatchGetCredentialsRequest>;
  m.start = [](const MethodEnv& env, const v1::BatchGetCredentialsRequest& request,
               const CallScope& scope, auto done) -> std::shared_ptr<leaf::Cancellable> {
    const absl::Time batch_deadline = BatchDeadline(scope.caller_deadline);
    leaf::CallOptions base = scope.leaf;
    base.stats = nullptr;  // users are read concurrently; the record counts the call
    leaf::LeafClient* leaf = env.leaf;
    const absl::Duration timeout = env.options.upstream_timeout;
    // Each user gets --upstream_timeout from its own start, within the batch.
    auto batch = std::make_shared<BatchGet>(
        BatchIds(request), env.options.batch_fan_out, batch_deadline,
        [leaf, base, timeout, batch_deadline](const std::string& user,
                                              BatchGet::FetchDone fetched) {
          leaf::CallOptions call = base;
          call.deadline = std::min(absl::Now() + timeout, batch_deadline);
          return leaf->GetCredentials(user, call, std::move(fetched));
        });
    batch->Start([done](std::vector<BatchGet::Result> results) { done(std::move(results)); });
    return batch;
  };
  m.respond = [](const MethodEnv&, const v1::BatchGetCredentialsRequest& request,
                 std::vector<BatchGet::Result> results, v1::BatchGetCredentialsResponse* response) {
    const std::vector<std::string> ids = BatchIds(request);
    response->mutable_results()->Reserve(static_cast<int>(results.size()));
    for (size_t i = 0; i < results.size(); ++i) {
      ToResult(results[i], ids[i], request.view(), response->add_results());
    }
    return absl::OkStatus();
  };
  return m;
}

MethodAdmission<v1::WatchCredentialsRequest> MakeWatch() {
  MethodAdmission<v1::WatchCredentialsRequest> m;
  m.name = "WatchCredentials";
  m.validate = &ValidateWithOptions<v1::WatchCredentialsRequest>;
  m.kind = RpcKind::kServerStream;
  return m;
}

}  // namespace

// Each row is built once, on first use, and never destroyed (calls may
// still run while the process exits).

const UnaryMethod<v1::GetCredentialsRequest, v1::Credentials, leaf::ProviderCredentials>&
GetCredentials() {
  static const auto* const row = new auto(MakeGet());
  return *row;
}
const UnaryMethod<v1::CreateCredentialsRequest, v1::Credentials, leaf::ProviderCredentials>&
CreateCredentials() {
  static const auto* const row = new auto(MakeCreate());
  return *row;
}
const UnaryMethod<v1::DeleteCredentialsRequest, google::protobuf::Empty, Deleted>&
DeleteCredentials() {
  static const auto* const row = new auto(MakeDelete());
  return *row;
}
const UnaryMethod<v1::ListCredentialEventsRequest, v1::ListCredentialEventsResponse, EventPage>&
ListCredentialEvents() {
  static const auto* const row = new auto(MakeListEvents());
  return *row;
}
const UnaryMethod<v1::ListCredentialsRequest, v1::ListCredentialsResponse, ListingResult>&
ListCredentials() {
  static const auto* const row = new auto(MakeListCredentials());
  return *row;
}
const UnaryMethod<v1::BatchGetCredentialsRequest, v1::BatchGetCredentialsResponse,
                  std::vector<BatchGet::Result>>&
BatchGetCredentials() {
  static const auto* const row = new auto(MakeBatchGet());
  return *row;
}
const MethodAdmission<v1::WatchCredentialsRequest>& WatchCredentials() {
  static const auto* const row = new auto(MakeWatch());
  return *row;
}

std::vector<absl::string_view> Names() {
  return {GetCredentials().name,       CreateCredentials().name, DeleteCredentials().name,
          ListCredentialEvents().name, ListCredentials().name,   BatchGetCredentials().name,
          WatchCredentials().name,     CreateConnectLink().name, GetConnectLink().name};
}

}  // namespace leafsvc::methods
