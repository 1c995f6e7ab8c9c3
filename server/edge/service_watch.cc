// WatchCredentials: a ServerWriteReactor per stream, a Watcher of the watch
// hub. The hub queues changes into it under the hub's lock (Enqueue: a
// StreamQueue, no gRPC) and has it send them after the lock is released
// (Deliver: CredentialsChange messages written one at a time). The queue
// holds later changes back until every requested user has had its first
// message, so a stream always starts with the state of each user; a caller
// that reads too slowly (kMaxQueued changes waiting) loses the stream with
// RESOURCE_EXHAUSTED rather than growing the server's memory. Every change
// carries the hub's resume token; a stream that resumes (its request's
// resume_token) holds nothing back: the caller already has a state of each
// user, and each user's changes still come in order.
// The method is registered raw like the unary ones: the request is parsed
// here (MALFORMED_REQUEST) and each change is written serialized.
#include <grpc/grpc.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include <optional>
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
#include "server/edge/grpc_status.h"
#include "server/edge/method_table.h"
#include "server/edge/raw_unary.h"
#include "server/edge/resources.h"
#include "server/edge/rpc_record.h"
#include "server/edge/service.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"
#include "server/ids/leaf_user_id.h"
#include "server/observability/log.h"
#include "server/security/caller_auth.h"
#include "server/watch/stream_queue.h"
#include "server/watch/watch_hub.h"

namespace leafsvc {
namespace {

namespace v1 = ::leaf::agleader::v1;

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
    case watch::ChangeKind::kResync:
      return v1::CHANGE_KIND_RESYNC;
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
    case watch::Source::kConnect:
      return v1::CHANGE_SOURCE_CONNECT_LINK;
  }
  return v1::CHANGE_SOURCE_UNSPECIFIED;
}

class WatchReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer>,
                           public watch::Watcher {
 public:
  // `record` was started by the pipeline's admission; it ends the stream
  // (status, trailers, metrics, log line) in one place.
  WatchReactor(grpc::CallbackServerContext* context, watch::WatchHub* hub, v1::CredentialsView view,
               Metrics* metrics, RpcRecord record)
      : context_(context), hub_(hub), view_(view), metrics_(metrics), record_(std::move(record)) {}

  // Ends a stream refused at admission (counted as a rejected call).
  void Refuse(const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    refused_ = true;
    EndLocked(status);
    KickLocked();
  }

  // Subscribes to `ids` (resuming after `resume_token` if not empty); ends
  // the stream at once if the hub refuses.
  void Begin(const google::protobuf::RepeatedPtrField<std::string>& ids, const std::string& caller,
             const std::string& resume_token) {
    std::vector<std::string> keys;
    for (const std::string& id : ids) keys.push_back(CanonicalLeafUserId(id));
    {
      absl::MutexLock lock(&mu_);
      users_ = static_cast<int>(keys.size());
      const std::vector<std::string> hold_for =
          resume_token.empty() ? keys : std::vector<std::string>();
      queue_.emplace(hold_for, kMaxQueued);
      awaiting_first_.insert(hold_for.begin(), hold_for.end());
    }
    absl::StatusOr<watch::WatchId> id = hub_->Subscribe(keys, this, caller, resume_token);
    absl::MutexLock lock(&mu_);
    if (!id.ok()) {
      EndLocked(id.status());
      KickLocked();
    } else {
      id_ = *id;
      subscribed_ = true;
    }
  }

  // Under the hub's lock: only queues (no gRPC call, nothing that waits but
  // this stream's own short lock).
  void Enqueue(const std::string& user, const watch::Change& change) override {
    absl::MutexLock lock(&mu_);
    if (ending_ || !queue_) return;
    // The queue sends a user's first change ahead of later changes of
    // others it holds back: such a first change carries the token of the
    // change before the first one held, so a stream that ends before those
    // go out resumes from before them (a token promises that every change
    // before it was sent).
    const bool first = awaiting_first_.erase(user) > 0;
    const bool ahead = first && holding_;
    if (!first && !awaiting_first_.empty() && !holding_) {
      holding_ = true;
      held_token_ = last_token_;
    }
    last_token_ = change.resume_token;
    if (awaiting_first_.empty()) holding_ = false;
    bool fits;
    if (ahead) {
      watch::Change early = change;
      early.resume_token = held_token_;
      fits = queue_->Push(user, early);
    } else {
      fits = queue_->Push(user, change);
    }
    if (!fits) EndLocked(MakeError(reasons::kWatchStreamTooSlow), true);
  }

  // Outside the hub's lock: starts the next write (or the end).
  void Deliver() override {
    absl::MutexLock lock(&mu_);
    KickLocked();
  }

  void OnEnd(const absl::Status& status) override {
    absl::MutexLock lock(&mu_);
    subscribed_ = false;  // the hub already let go
    EndLocked(status);
    KickLocked();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    // gRPC is done with the bytes: an idle stream keeps no copy of its
    // last message.
    write_buffer_.Clear();
    if (queue_ && queue_->Front() != nullptr) queue_->Pop();
    if (ok) {
      ++sent_;
    } else if (!ending_) {
      EndLocked(absl::CancelledError("the stream broke"));
    }
    KickLocked();
  }

  void OnCancel() override {
    LeaveHub();
    absl::MutexLock lock(&mu_);
    EndLocked(absl::CancelledError("the caller cancelled the stream"));
    KickLocked();
  }

  void OnDone() override {
    // After Finish; the hub may still be calling this watcher on another
    // thread (a delivery, or a concurrent Shutdown's OnEnd): Unsubscribe
    // waits for it to return.
    LeaveHub();
    absl::StatusCode code;
    bool refused;
    {
      absl::MutexLock lock(&mu_);
      code = end_status_.code();
      refused = refused_;
    }
    if (metrics_ != nullptr && !refused) metrics_->WatchStreamEnded(code);
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

  void Serialize(const watch::StreamQueue::Entry& entry, grpc::ByteBuffer* bytes) const {
    const watch::Change& change = entry.change;
    v1::CredentialsChange msg;
    msg.set_kind(ToProtoKind(change.kind));
    msg.set_source(ToProtoSource(change.source));
    *msg.mutable_observe_time() = ToTimestamp(change.observed);
    // `user` is a hub key: already CanonicalLeafUserId, as GetCredentials answers.
    msg.set_leaf_user_id(entry.user);
    if (change.previous) ToProto(*change.previous, entry.user, view_, msg.mutable_previous());
    if (change.current) ToProto(*change.current, entry.user, view_, msg.mutable_current());
    msg.set_resume_token(change.resume_token);
    // A resync of a user whose reads fail carries the error like kError.
    if (change.kind == watch::ChangeKind::kError ||
        (change.kind == watch::ChangeKind::kResync && !change.error.ok())) {
      grpc::Status g = ToGrpcStatus(change.error);
      msg.mutable_error()->ParseFromString(g.error_details());
    }
    bool own_buffer = false;
    (void)grpc::GenericSerialize<grpc::ProtoBufferWriter, v1::CredentialsChange>(msg, bytes,
                                                                                 &own_buffer);
  }

  void LeaveHub() {
    watch::WatchId id = 0;
    bool subscribed;
    {
      absl::MutexLock lock(&mu_);
      subscribed = std::exchange(subscribed_, false);
      id = id_;
    }
    if (subscribed || id != 0) hub_->Unsubscribe(id);
  }

  // Stops taking changes; the next KickLocked finishes once no write is in
  // flight. No gRPC call here: it may run under the hub's lock (Enqueue).
  // `too_slow`: see KickLocked.
  void EndLocked(const absl::Status& status, bool too_slow = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (ending_) return;
    ending_ = true;
    cancel_pending_ = too_slow;
    end_status_ = status;
    // The message being written stays until its OnWriteDone.
    if (queue_) queue_->Clear(writing_);
  }

  // The gRPC half of the stream: the next write, or the end. Never under
  // the hub's lock.
  //
  // A caller that does not read would keep the write in flight (and so the
  // stream, its hub slot and what is queued) for as long as its connection
  // lives: Finish cannot go out behind that write. Cancelling the call ends
  // the write at once (OnWriteDone(false), then Finish, OnDone); with a
  // status, gRPC's HTTP/2 transport still sends it as trailers (which flow
  // control does not hold back) before resetting the stream. OnCancel, run
  // by gRPC on another thread, leaves the hub.
  void KickLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (std::exchange(cancel_pending_, false) && writing_ && !finished_) {
      // The reset carries the same code and message as the status.
      const std::string message(end_status_.message());
      grpc_call_cancel_with_status(context_->c_call(),
                                   static_cast<grpc_status_code>(end_status_.code()),
                                   message.c_str(), nullptr);
    }
    if (writing_) return;
    if (ending_) {
      if (!finished_) {
        finished_ = true;
        Finish(refused_ ? record_.End(end_status_) : record_.EndStream(end_status_, users_, sent_));
      }
      return;
    }
    const watch::StreamQueue::Entry* next = queue_ ? queue_->Front() : nullptr;
    if (next == nullptr) return;
    writing_ = true;
    write_buffer_.Clear();
    Serialize(*next, &write_buffer_);
    StartWrite(&write_buffer_);
  }

  grpc::CallbackServerContext* const context_;  // valid until OnDone
  watch::WatchHub* const hub_;
  const v1::CredentialsView view_;
  Metrics* const metrics_;
  absl::Mutex mu_;
  RpcRecord record_ ABSL_GUARDED_BY(mu_);
  bool refused_ ABSL_GUARDED_BY(mu_) = false;
  watch::WatchId id_ ABSL_GUARDED_BY(mu_) = 0;
  bool subscribed_ ABSL_GUARDED_BY(mu_) = false;
  int users_ ABSL_GUARDED_BY(mu_) = 0;
  // Front: being written (in write_buffer_) while writing_. Unset when the
  // stream was refused before Begin.
  std::optional<watch::StreamQueue> queue_ ABSL_GUARDED_BY(mu_);
  // The queue's hold-back as Enqueue sees it (see there): the users without
  // a first change yet, whether a later change waits for them, the token
  // before the first change held, and the token of the last change queued.
  std::set<std::string> awaiting_first_ ABSL_GUARDED_BY(mu_);
  bool holding_ ABSL_GUARDED_BY(mu_) = false;
  std::string held_token_ ABSL_GUARDED_BY(mu_);
  std::string last_token_ ABSL_GUARDED_BY(mu_);
  grpc::ByteBuffer write_buffer_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool ending_ ABSL_GUARDED_BY(mu_) = false;
  bool cancel_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status end_status_ ABSL_GUARDED_BY(mu_);
  int sent_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

grpc::ServerWriteReactor<grpc::ByteBuffer>* AgLeaderCredentialsService::WatchCredentials(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw_request) {
  // Parsed, admitted (draining, the request's rules, the x-leaf-token rule)
  // and recorded like every unary call; reads are shared, so an allowed
  // caller token is not used.
  v1::WatchCredentialsRequest request;
  Admission admission =
      pipeline_.Admit(methods::WatchCredentials(), context, raw_request, &request);
  // Parsed: the request's bytes would otherwise stay in the call until the
  // stream ends (the handler owns them; they are not read again).
  if (raw_request != nullptr) const_cast<grpc::ByteBuffer*>(raw_request)->Clear();
  if (admission.scope.ok() && watch_ == nullptr) {
    admission.scope = absl::UnimplementedError("this server was built without watch support");
  }
  auto* reactor =
      new WatchReactor(context, watch_, request.view(), metrics_, std::move(admission.record));
  if (!admission.scope.ok()) {
    reactor->Refuse(admission.scope.status());
    return reactor;
  }
  reactor->Begin(request.leaf_user_ids(), WatchCaller(context), request.resume_token());
  return reactor;
}

}  // namespace leafsvc
