#include "server/edge/watch_stream.h"

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "server/edge/core_streaming_method.h"
#include "server/edge/grpc_status.h"
#include "server/edge/resources.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"
#include "server/ids/leaf_user_id.h"
#include "server/observability/log.h"
#include "server/watch/stream_queue.h"

namespace leafsvc {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr size_t kMaxQueued = 1024;

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
// One WatchCredentials stream on gRPC's core API (server/edge/
// core_streaming_method.h). Its three kinds of batch complete on gRPC's
// callback threads through its tags: the caller's end of the call
// (RECV_CLOSE_ON_SERVER, started at once, so a cancel is seen while idle),
// a change written (SEND_MESSAGE, one at a time) and the status
// (SEND_STATUS_FROM_SERVER, once, never while a write is in flight). The
// first batch to go out also carries the initial metadata. The stream
// deletes itself once all have completed, after leaving the hub.
class CoreWatchStream final : public WatchStream {
 public:
  // `open` counts the streams not yet done (the service's, for StopWatch).
  CoreWatchStream(grpc_call* call, watch::WatchHub* hub, Metrics* metrics, OpenStreams* open)
      : call_(call), hub_(hub), metrics_(metrics), open_(open) {
    open_->Add(1);
  }

  // Where the record's trailers go (kept for the status).
  RpcRecord::AddTrailer TrailerSink() override {
    return [this](const std::string& key, const std::string& value) {
      trailers_.emplace_back(key, value);
    };
  }

  // Takes the call's record and starts watching for the caller's end.
  void Open(RpcRecord record, v1::CredentialsView view) override {
    absl::MutexLock lock(&mu_);
    record_.emplace(std::move(record));
    view_ = view;
    grpc_op op{};
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &cancelled_;
    StartLocked(&op, 1, &closed_tag_);
  }

  // Ends a stream refused at admission (counted as a rejected call).
  void Refuse(const absl::Status& status) override {
    bool done;
    {
      absl::MutexLock lock(&mu_);
      refused_ = true;
      EndLocked(status);
      KickLocked();
      done = OpenedLocked();
    }
    if (done) End();
  }

  // Subscribes to `ids` (resuming after `resume_token` if not empty); ends
  // the stream at once if the hub refuses.
  void Begin(const google::protobuf::RepeatedPtrField<std::string>& ids, const std::string& caller,
             const std::string& resume_token) override {
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
    bool done;
    {
      absl::MutexLock lock(&mu_);
      if (!id.ok()) {
        EndLocked(id.status());
        KickLocked();
      } else {
        id_ = *id;
        subscribed_ = true;
      }
      done = OpenedLocked();
    }
    if (done) End();
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

 private:
  // A batch's completion, on a gRPC callback thread. Completions of one
  // stream may run at once: each takes the lock, and the one after which
  // the stream is done ends it; no other touches the stream after its
  // lock is released. (The step is a template argument, not a member: 16
  // bytes a tag.)
  template <void (CoreWatchStream::*kStep)(bool ok)>
  class Tag final : public CompletionTag {
   public:
    explicit Tag(CoreWatchStream* stream) : stream_(stream) {}
    void Complete(bool ok) override { (stream_->*kStep)(ok); }

   private:
    CoreWatchStream* const stream_;
  };

  static google::protobuf::Timestamp ToTimestamp(absl::Time t) {
    google::protobuf::Timestamp ts;
    const int64_t micros = absl::ToUnixMicros(t);
    ts.set_seconds(micros / 1000000);
    ts.set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
    return ts;
  }

  // The change as the bytes of a CredentialsChange message.
  grpc_byte_buffer* Serialize(const watch::StreamQueue::Entry& entry) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
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
    grpc_slice bytes = grpc_slice_malloc(msg.ByteSizeLong());
    msg.SerializeWithCachedSizesToArray(GRPC_SLICE_START_PTR(bytes));
    grpc_byte_buffer* buffer = grpc_raw_byte_buffer_create(&bytes, 1);
    grpc_slice_unref(bytes);
    return buffer;
  }

  // Starts `ops` (with the initial metadata if none went out yet), one
  // batch counted until its tag completes.
  void StartLocked(grpc_op* ops, size_t n, CompletionTag* tag) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    grpc_op batch[3]{};
    size_t count = 0;
    const bool sends = ops[0].op != GRPC_OP_RECV_CLOSE_ON_SERVER;
    if (sends && !initial_sent_) {
      initial_sent_ = true;
      batch[count++].op = GRPC_OP_SEND_INITIAL_METADATA;
    }
    for (size_t i = 0; i < n; ++i) batch[count++] = ops[i];
    ++batches_;
    const grpc_call_error error =
        grpc_call_start_batch(call_, batch, count, tag->core_tag(), nullptr);
    if (error != GRPC_CALL_OK) {
      // Only a bug of this class gets here (an op started twice).
      Log(LogLevel::kError, "watch stream: gRPC refused a batch",
          {{"error", LogValue::Redacted(grpc_call_error_to_string(error))}});
      --batches_;
    }
  }

  void OnClosed(bool /*ok*/) {
    bool done;
    {
      absl::MutexLock lock(&mu_);
      closed_ = true;
      if (cancelled_ != 0) {
        EndLocked(absl::CancelledError("the caller cancelled the stream"));
        KickLocked();
      }
      done = CompletedLocked();
    }
    if (done) End();
  }

  void OnWriteDone(bool ok) {
    bool done;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      // gRPC is done with the bytes: an idle stream keeps no copy of its
      // last message.
      grpc_byte_buffer_destroy(write_buffer_);
      write_buffer_ = nullptr;
      if (queue_ && queue_->Front() != nullptr) queue_->Pop();
      if (ok) {
        ++sent_;
      } else if (!ending_) {
        EndLocked(absl::CancelledError("the stream broke"));
      }
      KickLocked();
      done = CompletedLocked();
    }
    if (done) End();
  }

  void OnStatusSent(bool /*ok*/) {
    bool done;
    {
      absl::MutexLock lock(&mu_);
      done = CompletedLocked();
    }
    if (done) End();
  }

  // A batch completed (under mu_): whether the stream is now done.
  bool CompletedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    --batches_;
    return DoneLocked();
  }
  // OpenWatch's part is over (Refuse or Begin returned to it): the opening
  // counts as a batch, so that a caller's end completing meanwhile on
  // another thread cannot end the stream under OpenWatch.
  bool OpenedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return CompletedLocked(); }
  // The status went out, the caller's end completed and no batch is left:
  // true once (the caller then calls End).
  bool DoneLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!finished_ || !closed_ || batches_ > 0 || done_) return false;
    done_ = true;
    return true;
  }

  // The stream is done: leaves the hub (waiting for a call of the hub's
  // into it on another thread to return), counts the end and deletes it.
  // Nothing of gRPC's reaches it any more.
  void End() {
    LeaveHub();
    absl::StatusCode code;
    bool refused;
    {
      absl::MutexLock lock(&mu_);
      code = end_status_.code();
      refused = refused_;
    }
    if (metrics_ != nullptr && !refused) metrics_->WatchStreamEnded(code);
    grpc_call_unref(call_);
    OpenStreams* open = open_;
    delete this;
    open->Add(-1);
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

  // The status, with the record's trailers and the error's details.
  void FinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    finished_ = true;
    const grpc::Status status =
        refused_ ? record_->End(end_status_) : record_->EndStream(end_status_, users_, sent_);
    if (!status.error_details().empty()) {
      trailers_.emplace_back(kStatusDetailsKey, status.error_details());
    }
    std::vector<grpc_metadata> trailers(trailers_.size());
    for (size_t i = 0; i < trailers_.size(); ++i) {
      trailers[i].key = grpc_slice_from_copied_string(trailers_[i].first.c_str());
      trailers[i].value =
          grpc_slice_from_copied_buffer(trailers_[i].second.data(), trailers_[i].second.size());
    }
    grpc_slice message =
        grpc_slice_from_copied_buffer(status.error_message().data(), status.error_message().size());
    grpc_op op{};
    op.op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    op.data.send_status_from_server.status = static_cast<grpc_status_code>(status.error_code());
    op.data.send_status_from_server.status_details =
        status.error_message().empty() ? nullptr : &message;
    op.data.send_status_from_server.trailing_metadata = trailers.data();
    op.data.send_status_from_server.trailing_metadata_count = trailers.size();
    StartLocked(&op, 1, &status_tag_);
    // The batch took its own references.
    grpc_slice_unref(message);
    for (grpc_metadata& m : trailers) {
      grpc_slice_unref(m.key);
      grpc_slice_unref(m.value);
    }
    trailers_.clear();
    trailers_.shrink_to_fit();
  }

  // The gRPC half of the stream: the next write, or the end. Never under
  // the hub's lock.
  //
  // A caller that does not read would keep the write in flight (and so the
  // stream, its hub slot and what is queued) for as long as its connection
  // lives: the status cannot go out behind that write. Cancelling the call
  // ends the write at once (its tag completes not ok, then the status goes);
  // with a status, gRPC's HTTP/2 transport still sends it as trailers (which
  // flow control does not hold back) before resetting the stream.
  void KickLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (std::exchange(cancel_pending_, false) && writing_ && !finished_) {
      // The reset carries the same code and message as the status.
      const std::string message(end_status_.message());
      grpc_call_cancel_with_status(call_, static_cast<grpc_status_code>(end_status_.code()),
                                   message.c_str(), nullptr);
    }
    if (writing_ || !record_) return;
    if (ending_) {
      if (!finished_) FinishLocked();
      return;
    }
    const watch::StreamQueue::Entry* next = queue_ ? queue_->Front() : nullptr;
    if (next == nullptr) return;
    writing_ = true;
    write_buffer_ = Serialize(*next);
    grpc_op op{};
    op.op = GRPC_OP_SEND_MESSAGE;
    op.data.send_message.send_message = write_buffer_;
    StartLocked(&op, 1, &write_tag_);
  }

  static constexpr char kStatusDetailsKey[] = "grpc-status-details-bin";

  grpc_call* const call_;  // our reference, dropped when done
  watch::WatchHub* const hub_;
  Metrics* const metrics_;
  OpenStreams* const open_;
  Tag<&CoreWatchStream::OnClosed> closed_tag_{this};
  Tag<&CoreWatchStream::OnWriteDone> write_tag_{this};
  Tag<&CoreWatchStream::OnStatusSent> status_tag_{this};
  absl::Mutex mu_;
  // Set by Open, before any batch; ends the stream once.
  std::optional<RpcRecord> record_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, std::string>> trailers_ ABSL_GUARDED_BY(mu_);
  v1::CredentialsView view_ ABSL_GUARDED_BY(mu_) = v1::CREDENTIALS_VIEW_UNSPECIFIED;
  int cancelled_ = 0;  // written by the core before closed_tag_ completes
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
  grpc_byte_buffer* write_buffer_ ABSL_GUARDED_BY(mu_) = nullptr;
  // Started, not yet completed; the opening counts as one (OpenedLocked).
  int batches_ ABSL_GUARDED_BY(mu_) = 1;
  bool initial_sent_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;  // the caller's end completed
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool ending_ ABSL_GUARDED_BY(mu_) = false;
  bool cancel_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status end_status_ ABSL_GUARDED_BY(mu_);
  int sent_ ABSL_GUARDED_BY(mu_) = 0;
};
}  // namespace

WatchStream* WatchStream::New(grpc_call* call, watch::WatchHub* hub, Metrics* metrics,
                              OpenStreams* open) {
  return new CoreWatchStream(call, hub, metrics, open);
}

void OpenStreams::Add(int delta) {
  absl::MutexLock lock(&mu_);
  count_ += delta;
}

void OpenStreams::WaitForNone() {
  absl::MutexLock lock(&mu_);
  while (!mu_.AwaitWithTimeout(absl::Condition(
                                   +[](int* count) { return *count == 0; }, &count_),
                               absl::Seconds(5))) {
    Log(LogLevel::kWarning, "shutdown: waiting for watch streams to end", {{"streams", count_}});
  }
}

}  // namespace leafsvc
