// WatchCredentials: a ServerWriteReactor per stream, registered with the
// shared watch registry. The registry hands it changes (under its lock);
// the reactor turns them into CredentialsChange messages and writes them one
// at a time. Until every requested user has had its first message, later
// changes are held back, so a stream always starts with the state of each
// user. A caller that reads too slowly (kMaxQueued changes waiting) loses the
// stream with RESOURCE_EXHAUSTED rather than growing the server's memory.
// The method is registered raw like the unary ones: the request is parsed
// here (MALFORMED_REQUEST) and each change is written serialized.
#include <grpc/grpc.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include <deque>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "google/protobuf/empty.pb.h"
#include "server/errors/reasons.h"
#include "server/grpc_status.h"
#include "server/raw_unary.h"
#include "server/resources.h"
#include "server/rpc_record.h"
#include "server/security/caller_auth.h"
#include "server/service.h"
#include "server/util/log.h"
#include "server/util/status_details.h"

namespace leafsvc {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr int kMaxWatchedPerStream = 100;
constexpr size_t kMaxQueued = 1024;

// Who a stream counts against for --watch_max_users_per_caller: its API key
// when the listener authenticated one, else its IP address (without the
// port, so one host's many connections are one caller).
std::string WatchCaller(grpc::CallbackServerContext* context) {
  std::shared_ptr<const grpc::AuthContext> auth = context->auth_context();
  if (auth != nullptr) {
    std::vector<grpc::string_ref> ids = auth->FindPropertyValues(kApiKeyIdProperty);
    if (!ids.empty()) return absl::StrCat("key:", absl::string_view(ids[0].data(), ids[0].size()));
  }
  const std::string peer = context->peer();  // "ipv4:10.0.0.1:5000", "ipv6:[::1]:5000"
  absl::string_view host = peer;
  if (absl::ConsumePrefix(&host, "ipv4:")) {
    host = host.substr(0, host.rfind(':'));
  } else if (absl::ConsumePrefix(&host, "ipv6:")) {
    if (absl::StartsWith(host, "[")) host = host.substr(1, host.find(']') - 1);
  }
  return absl::StrCat("ip:", host);
}

v1::ChangeKind ToProtoKind(watch::ChangeKind kind) {
  switch (kind) {
    case watch::ChangeKind::kInitial:
      return v1::CHANGE_KIND_INITIAL;
    case watch::ChangeKind::kCreated:
      return v1::CHANGE_KIND_CREATED;
    case watch::ChangeKind::kStatusChanged:
      return v1::CHANGE_KIND_STATUS_CHANGED;
    case watch::ChangeKind::kReplaced:
      return v1::CHANGE_KIND_REPLACED;
    case watch::ChangeKind::kDeleted:
      return v1::CHANGE_KIND_DELETED;
    case watch::ChangeKind::kError:
      return v1::CHANGE_KIND_ERROR;
  }
  return v1::CHANGE_KIND_UNSPECIFIED;
}

v1::ChangeSource ToProtoSource(watch::Source source) {
  switch (source) {
    case watch::Source::kInitial:
      return v1::CHANGE_SOURCE_INITIAL;
    case watch::Source::kPoll:
      return v1::CHANGE_SOURCE_POLL;
    case watch::Source::kAlert:
      return v1::CHANGE_SOURCE_LEAF_ALERT;
  }
  return v1::CHANGE_SOURCE_UNSPECIFIED;
}

// The rules of GetCredentials for each id (so the messages match), plus the
// list's own: 1 to kMaxWatchedPerStream distinct ids.
absl::Status ValidateWatch(const v1::WatchCredentialsRequest& request,
                           const ValidationOptions& options) {
  StatusDetails d;
  std::vector<std::string> parts;
  auto add = [&](std::string field, std::string description) {
    parts.push_back(absl::StrCat(field, ": ", description));
    d.field_violations.push_back({std::move(field), std::move(description)});
  };
  const int n = request.leaf_user_ids_size();
  if (n == 0) add("leaf_user_ids", "required: at least one Leaf user id");
  if (n > kMaxWatchedPerStream) {
    add("leaf_user_ids", absl::StrCat("at most ", kMaxWatchedPerStream, " per stream (got ", n,
                                      "); open more streams"));
  }
  std::set<std::string> seen;
  absl::Status view_status;
  for (int i = 0; i < n && i < kMaxWatchedPerStream; ++i) {
    v1::GetCredentialsRequest one;
    one.set_leaf_user_id(request.leaf_user_ids(i));
    one.set_view(request.view());
    absl::Status st = Validate(one, options);
    StatusDetails got = GetStatusDetails(st);
    for (const FieldViolation& v : got.field_violations) {
      add(v.field == "leaf_user_id" ? absl::StrCat("leaf_user_ids[", i, "]") : v.field,
          v.description);
    }
    if (!st.ok() && got.field_violations.empty()) view_status = st;  // e.g. full view refused
    if (!seen.insert(CanonicalLeafUserId(request.leaf_user_ids(i))).second) {
      add(absl::StrCat("leaf_user_ids[", i, "]"), "duplicate of an earlier id");
    }
  }
  // Only the first violation per view field (every id repeats it).
  std::vector<FieldViolation> unique;
  std::vector<std::string> unique_parts;
  for (size_t i = 0; i < d.field_violations.size(); ++i) {
    if (d.field_violations[i].field == "view" && !unique.empty() && unique.back().field == "view") {
      continue;
    }
    unique.push_back(d.field_violations[i]);
    unique_parts.push_back(parts[i]);
  }
  if (!unique.empty()) {
    d.field_violations = unique;
    return MakeError(reasons::kInvalidRequest,
                     absl::StrCat("invalid request: ", absl::StrJoin(unique_parts, "; ")), d);
  }
  return view_status;
}

class WatchReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer>,
                           public watch::Watcher {
 public:
  static constexpr char kMethod[] = "WatchCredentials";

  WatchReactor(grpc::CallbackServerContext* context, watch::Registry* registry,
               v1::CredentialsView view, Metrics* metrics)
      : context_(context),
        registry_(registry),
        view_(view),
        metrics_(metrics),
        request_id_(RequestIdFrom(*context)),
        start_(absl::Now()) {
    context->AddTrailingMetadata(kRequestIdKey, request_id_);
    if (metrics_ != nullptr) metrics_->RpcStarted(kMethod);
  }

  // Registers for `ids`; ends the stream at once if the registry refuses.
  void Begin(const google::protobuf::RepeatedPtrField<std::string>& ids,
             const std::string& caller) {
    std::vector<std::string> keys;
    {
      absl::MutexLock lock(&mu_);
      for (const std::string& id : ids) {
        std::string key = CanonicalLeafUserId(id);
        awaiting_first_.insert(key);
        keys.push_back(std::move(key));
      }
      users_ = static_cast<int>(keys.size());
    }
    absl::StatusOr<watch::Registry::WatchId> id = registry_->Subscribe(keys, this, caller);
    absl::MutexLock lock(&mu_);
    if (!id.ok()) {
      EndLocked(id.status());
    } else {
      id_ = *id;
      subscribed_ = true;
    }
  }

  void OnChange(const std::string& user, const watch::Change& change) override {
    v1::CredentialsChange msg;
    msg.set_kind(ToProtoKind(change.kind));
    msg.set_source(ToProtoSource(change.source));
    *msg.mutable_observe_time() = ToTimestamp(change.observed);
    absl::MutexLock lock(&mu_);
    if (ending_) return;
    // `user` is a registry key: already CanonicalLeafUserId, as GetCredentials answers.
    msg.set_leaf_user_id(user);
    if (change.previous) ToProto(*change.previous, user, view_, msg.mutable_previous());
    if (change.current) ToProto(*change.current, user, view_, msg.mutable_current());
    if (change.kind == watch::ChangeKind::kError) {
      grpc::Status g = ToGrpcStatus(change.error);
      msg.mutable_error()->ParseFromString(g.error_details());
    }
    grpc::ByteBuffer bytes;
    bool own_buffer = false;
    (void)grpc::GenericSerialize<grpc::ProtoBufferWriter, v1::CredentialsChange>(msg, &bytes,
                                                                                 &own_buffer);
    if (awaiting_first_.erase(user) > 0) {
      queue_.push_back(std::move(bytes));
      if (awaiting_first_.empty()) {
        for (grpc::ByteBuffer& m : held_) queue_.push_back(std::move(m));
        held_.clear();
      }
    } else if (!awaiting_first_.empty()) {
      held_.push_back(std::move(bytes));
    } else {
      queue_.push_back(std::move(bytes));
    }
    if (queue_.size() + held_.size() > kMaxQueued) {
      EndTooSlowLocked();
      return;
    }
    WriteNextLocked();
  }

  void OnEnd(const absl::Status& status) override {
    absl::MutexLock lock(&mu_);
    subscribed_ = false;  // the registry already let go
    EndLocked(status);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!queue_.empty()) queue_.pop_front();
    if (ok) {
      ++sent_;
    } else if (!ending_) {
      EndLocked(absl::CancelledError("the stream broke"));
    }
    WriteNextLocked();
  }

  void OnCancel() override {
    LeaveRegistry();
    absl::MutexLock lock(&mu_);
    EndLocked(absl::CancelledError("the caller cancelled the stream"));
  }

  void OnDone() override {
    // After Finish; the registry may still hold this watcher (a concurrent
    // Shutdown delivering OnEnd): Unsubscribe waits for it to let go.
    LeaveRegistry();
    absl::StatusCode code;
    int users;
    {
      absl::MutexLock lock(&mu_);
      code = end_status_.code();
      users = users_;
    }
    if (metrics_ != nullptr) {
      // Handled when it ends, refused or not, like a unary call.
      metrics_->RpcHandled(kMethod, code, absl::Now() - start_);
      metrics_->WatchStreamEnded(code);
    }
    Log(code == absl::StatusCode::kCancelled || code == absl::StatusCode::kOk ||
                code == absl::StatusCode::kUnavailable
            ? LogLevel::kInfo
            : LogLevel::kWarning,
        "watch stream ended",
        {{"method", kMethod},
         {"code", absl::StatusCodeToString(code)},
         {"request_id", request_id_},
         {"users", users},
         {"changes_sent", sent_},
         {"duration_ms", absl::ToDoubleMilliseconds(absl::Now() - start_)}});
    delete this;
  }

 private:
  static google::protobuf::Timestamp ToTimestamp(absl::Time t) {
    google::protobuf::Timestamp ts;
    const int64_t micros = absl::ToUnixMicros(t);
    ts.set_seconds(micros / 1000000);
    ts.set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
    return ts;
  }

  void LeaveRegistry() {
    watch::Registry::WatchId id = 0;
    bool subscribed;
    {
      absl::MutexLock lock(&mu_);
      subscribed = std::exchange(subscribed_, false);
      id = id_;
    }
    if (subscribed || id != 0) registry_->Unsubscribe(id);
  }

  // A caller that does not read would keep the write in flight (and so the
  // stream, its registry slot and what is queued) for as long as its
  // connection lives: Finish cannot go out behind that write. Cancelling the
  // call ends the write at once (OnWriteDone(false), then Finish, OnDone);
  // with a status, gRPC's HTTP/2 transport still sends it as trailers
  // (which flow control does not hold back) before resetting the stream.
  // OnCancel, run by gRPC on another thread, leaves the registry (whose
  // lock is held here).
  void EndTooSlowLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (ending_) return;
    // The reset carries the same code and message as the status.
    const std::string message(reasons::kWatchStreamTooSlow.message);
    EndLocked(MakeError(reasons::kWatchStreamTooSlow));
    if (finished_) return;  // no write was in flight: the status went out whole
    grpc_call_cancel_with_status(context_->c_call(),
                                 static_cast<grpc_status_code>(reasons::kWatchStreamTooSlow.code),
                                 message.c_str(), nullptr);
  }

  // Stops taking changes; Finish follows once no write is in flight.
  void EndLocked(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (ending_) return;
    ending_ = true;
    end_status_ = status;
    // The message being written stays until its OnWriteDone.
    queue_.erase(writing_ && !queue_.empty() ? queue_.begin() + 1 : queue_.begin(), queue_.end());
    held_.clear();
    if (!writing_) FinishLocked();
  }

  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_) return;
    if (ending_) {
      FinishLocked();
      return;
    }
    if (queue_.empty()) return;
    writing_ = true;
    StartWrite(&queue_.front());
  }

  void FinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(ToGrpcStatus(end_status_));
  }

  grpc::CallbackServerContext* const context_;  // valid until OnDone
  watch::Registry* const registry_;
  const v1::CredentialsView view_;
  Metrics* const metrics_;
  const std::string request_id_;
  const absl::Time start_;
  absl::Mutex mu_;
  watch::Registry::WatchId id_ ABSL_GUARDED_BY(mu_) = 0;
  bool subscribed_ ABSL_GUARDED_BY(mu_) = false;
  int users_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<std::string> awaiting_first_ ABSL_GUARDED_BY(mu_);
  std::deque<grpc::ByteBuffer> queue_ ABSL_GUARDED_BY(mu_);  // front: being written
  std::vector<grpc::ByteBuffer> held_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool ending_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status end_status_ ABSL_GUARDED_BY(mu_);
  int sent_ = 0;  // written only in OnWriteDone, read in OnDone (after it)
};

}  // namespace

grpc::ServerWriteReactor<grpc::ByteBuffer>* AgLeaderCredentialsService::WatchCredentials(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw_request) {
  RawUnary<v1::WatchCredentialsRequest, google::protobuf::Empty> call(nullptr);
  absl::Status admitted = call.Parse(raw_request);
  const v1::WatchCredentialsRequest& request = call.request;
  auto* reactor = new WatchReactor(context, watch_, request.view(), metrics_);
  if (admitted.ok() && watch_ == nullptr) {
    admitted = absl::UnimplementedError("this server was built without a watch registry");
  }
  // Draining, the request's rules, then the x-leaf-token rule of every
  // unary RPC (reads are shared, so an allowed caller token is not used).
  if (admitted.ok()) admitted = Prepare(context, ValidateWatch(request, validation_)).status();
  if (!admitted.ok()) {
    const std::string reason = GetStatusDetails(admitted).reason;
    if (metrics_ != nullptr && !reason.empty() && !absl::IsUnavailable(admitted)) {
      metrics_->CallRejected(reason);
    }
    reactor->OnEnd(admitted);
    return reactor;
  }
  reactor->Begin(request.leaf_user_ids(), WatchCaller(context));
  return reactor;
}

}  // namespace leafsvc
