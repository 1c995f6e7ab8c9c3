#include "server/fleet/fleet_fetch.h"

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"

namespace leafsvc::fleet {

using watch::Observation;

struct FleetFetch::Core {
  watch::Poller::Fetch inner;
  PollLease* lease;
  SharedWatchState* state;
  FleetFetchOptions options;
  std::atomic<std::uint64_t> leaf_reads{0};
  std::atomic<std::uint64_t> shared_reads{0};
  std::atomic<std::uint64_t> fallbacks{0};
};

namespace {

Observation NotRead(absl::string_view why, absl::Duration retry) {
  StatusDetails d;
  d.retry_delay = retry;
  Observation o;
  o.kind = Observation::Kind::kNotRead;
  o.error = MakeStatus(absl::StatusCode::kUnavailable, why, d);
  return o;
}

Observation Cancelled() {
  Observation o;
  o.kind = Observation::Kind::kError;
  o.error = MakeError(reasons::kCancelled, "the read was cancelled");
  return o;
}

}  // namespace

// One fetch, stage by stage. Holds the core (not the FleetFetch).
class FleetFetch::Call : public leaf::Cancellable, public std::enable_shared_from_this<Call> {
 public:
  Call(std::shared_ptr<Core> core, std::string user, watch::Source source,
       std::function<void(Observation)> done)
      : core_(std::move(core)), user_(std::move(user)), source_(source), done_(std::move(done)) {}

  void Start() {
    const absl::Duration ttl =
        core_->options.lease_ttl ? core_->options.lease_ttl() : absl::Minutes(2);
    std::shared_ptr<Call> self = shared_from_this();
    core_->lease->Acquire(user_, ttl, [self](absl::StatusOr<std::uint64_t> fence) {
      if (self->cancelled()) return self->Finish(Cancelled());
      if (!fence.ok()) return self->OnRedisError(fence.status());
      if (*fence == 0) return self->ReadShared();
      self->ReadLeaf(*fence);
    });
  }

  void Cancel() override {
    std::shared_ptr<leaf::Cancellable> inner;
    {
      absl::MutexLock lock(&mu_);
      if (cancelled_ || finished_) return;
      cancelled_ = true;
      inner = std::move(inner_);
    }
    // The inner read's done still comes, and ends this fetch.
    if (inner != nullptr) inner->Cancel();
  }

 private:
  void Told(absl::string_view from) {
    if (core_->options.on_read) core_->options.on_read(from);
  }

  bool cancelled() {
    absl::MutexLock lock(&mu_);
    return cancelled_;
  }

  void Finish(Observation o) {
    std::function<void(Observation)> done;
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      finished_ = true;
      done = std::move(done_);
      inner_.reset();
    }
    done(std::move(o));
  }

  // Redis failed this stage: the inner fetch alone, unless the client is
  // going away (nothing may start then).
  void OnRedisError(const absl::Status& status) {
    if (absl::IsCancelled(status)) {
      return Finish(NotRead("the Redis client is shutting down", absl::Seconds(1)));
    }
    core_->fallbacks.fetch_add(1);
    Told("alone");
    ReadLeaf(std::nullopt);
  }

  // fence: publish under this lease grant; none: Redis failed, alone.
  void ReadLeaf(std::optional<std::uint64_t> fence) {
    core_->leaf_reads.fetch_add(1);
    if (fence.has_value()) Told("leaf");
    std::shared_ptr<Call> self = shared_from_this();
    std::shared_ptr<leaf::Cancellable> inner =
        core_->inner(user_, source_, [self, fence](Observation o) { self->OnRead(fence, o); });
    bool cancel_now = false;
    {
      absl::MutexLock lock(&mu_);
      if (!finished_) {
        // Cancelled before the read had a handle: cancel it now.
        cancel_now = cancelled_;
        if (!cancel_now) inner_ = inner;
      }
    }
    if (cancel_now && inner != nullptr) inner->Cancel();
  }

  void OnRead(std::optional<std::uint64_t> fence, Observation o) {
    {
      absl::MutexLock lock(&mu_);
      inner_.reset();
    }
    if (!fence.has_value() || o.kind == Observation::Kind::kNotRead || cancelled()) {
      return Finish(std::move(o));
    }
    std::shared_ptr<Call> self = shared_from_this();
    const absl::Time now = core_->options.now ? core_->options.now() : absl::Now();
    // The observation is kept for the answer (the record holds hints only).
    auto read = std::make_shared<Observation>(std::move(o));
    core_->state->Publish(user_, *fence, *read, source_, now,
                          [self, read](absl::StatusOr<SharedWatchState::Published> p) {
                            if (!p.ok()) {
                              // Read but not shared: this replica's watchers still get it.
                              if (!absl::IsCancelled(p.status()))
                                self->core_->fallbacks.fetch_add(1);
                              return self->Finish(std::move(*read));
                            }
                            if (p->stale) {
                              return self->Finish(NotRead("another replica polls this user now",
                                                          self->core_->options.stale_retry));
                            }
                            read->version = p->version;
                            read->position = p->position;
                            read->known_since = p->known_since;
                            self->Finish(std::move(*read));
                          });
  }

  void ReadShared() {
    std::shared_ptr<Call> self = shared_from_this();
    core_->state->Get(user_, [self](absl::StatusOr<std::optional<Observation>> o) {
      if (self->cancelled()) return self->Finish(Cancelled());
      if (!o.ok()) return self->OnRedisError(o.status());
      if (!o->has_value()) {
        return self->Finish(NotRead("another replica polls this user; no result shared yet",
                                    self->core_->options.not_stored_retry));
      }
      self->core_->shared_reads.fetch_add(1);
      self->Told("redis");
      self->Finish(**std::move(o));
    });
  }

  const std::shared_ptr<Core> core_;
  const std::string user_;
  const watch::Source source_;
  absl::Mutex mu_;
  std::function<void(Observation)> done_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<leaf::Cancellable> inner_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

FleetFetch::FleetFetch(watch::Poller::Fetch inner, PollLease* lease, SharedWatchState* state,
                       FleetFetchOptions options)
    : core_(std::make_shared<Core>()) {
  core_->inner = std::move(inner);
  core_->lease = lease;
  core_->state = state;
  core_->options = std::move(options);
}

std::shared_ptr<leaf::Cancellable> FleetFetch::Fetch(const std::string& user, watch::Source source,
                                                     std::function<void(Observation)> done) {
  auto call = std::make_shared<Call>(core_, user, source, std::move(done));
  call->Start();
  return call;
}

watch::Poller::Fetch FleetFetch::AsFetch() const {
  std::shared_ptr<Core> core = core_;
  return [core](const std::string& user, watch::Source source,
                std::function<void(Observation)> done) -> std::shared_ptr<leaf::Cancellable> {
    auto call = std::make_shared<Call>(core, user, source, std::move(done));
    call->Start();
    return call;
  };
}

std::uint64_t FleetFetch::leaf_reads() const { return core_->leaf_reads.load(); }
std::uint64_t FleetFetch::shared_reads() const { return core_->shared_reads.load(); }
std::uint64_t FleetFetch::fallbacks() const { return core_->fallbacks.load(); }

void FleetPollControl::Remove(const std::string& user) {
  inner_->Remove(user);
  lease_->Release(user);
}

}  // namespace leafsvc::fleet
