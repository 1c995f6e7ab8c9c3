// Reads each watched user's credentials from Leaf on a schedule: at once when
// the user is added, then every `interval` plus a random share of `jitter`
// (so users added together do not stay in lockstep), backing off
// exponentially while reads fail, and soon when prompted (a Leaf alert).
// One read per user at a time, whoever asked; the Leaf client's own limits
// (--max_upstream_in_flight, the connection pool) apply to every read.
//
// A prompt is only a doorbell (alerts come from the open network and can be
// replayed): prompted reads of a user are coalesced (at most one pending or
// in flight), spaced by `min_prompt_interval` from the start of the user's
// last read, and never move a read earlier while the user's reads fail (its
// backoff stands).
#ifndef SERVER_WATCH_POLLER_H_
#define SERVER_WATCH_POLLER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/leaf/leaf_call.h"
#include "server/platform/scheduler.h"
#include "server/watch/change.h"

namespace leafsvc::watch {

// What the registry asks of a poller (a seam for the registry's tests).
class PollControl {
 public:
  virtual ~PollControl() = default;
  // Starts reading `user` (at once, then on schedule).
  virtual void Add(const std::string& user) = 0;
  // Stops reading `user`; a read in flight is cancelled and not reported.
  virtual void Remove(const std::string& user) = 0;
  // Asks for a read of `user` with `source` soon. True when this asked for
  // a read that was not coming anyway; false when it cost nothing (unknown
  // user, a prompted read already pending or in flight, or the user is
  // backing off after failed reads).
  virtual bool PollNow(const std::string& user, Source source) = 0;
};

struct PollerOptions {
  absl::Duration interval = absl::Seconds(30);
  absl::Duration jitter = absl::Seconds(5);
  // Longest wait between reads while they fail (at least `interval`).
  absl::Duration max_backoff = absl::Minutes(5);
  // Least time between the start of a user's last read and a prompted read
  // (--alerts_min_prompt_interval).
  absl::Duration min_prompt_interval = absl::Seconds(5);
  // Uniform in [0, 1); tests may fix it.
  std::function<double()> random;
  // The clock prompts are spaced by; tests may fix it (default absl::Now).
  std::function<absl::Time()> now;
};

class Poller final : public PollControl {
 public:
  // Starts one read of `user`; `done` runs exactly once (maybe inline, maybe
  // on another thread after the poller is gone: the poller guards itself).
  using Fetch = std::function<std::shared_ptr<leaf::Cancellable>(
      const std::string& user, std::function<void(Observation)> done)>;
  // Told every read's outcome, on the thread that finished it.
  using Sink = std::function<void(const std::string& user, const Observation&, Source)>;

  // `scheduler` must outlive the poller.
  Poller(Scheduler* scheduler, Fetch fetch, PollerOptions options);
  // Waits for callbacks already running in the poller to return, then
  // cancels timers and reads; a read's `done` arriving later does nothing.
  ~Poller() override;

  // Where outcomes go; set before the first Add.
  void SetSink(Sink sink) { sink_ = std::move(sink); }

  void Add(const std::string& user) override;
  void Remove(const std::string& user) override;
  bool PollNow(const std::string& user, Source source) override;

  // Users being read.
  int size() const;

  // The wait after a read: `failures` consecutive failed reads (0: it
  // succeeded) and `u` uniform in [0, 1).
  static absl::Duration NextDelay(const PollerOptions& options, int failures, double u);

 private:
  // Admits callbacks (timer tasks, read completions) while the poller
  // lives; the destructor closes it and waits for those inside.
  struct Gate {
    absl::Mutex mu;
    bool open ABSL_GUARDED_BY(mu) = true;
    int inside ABSL_GUARDED_BY(mu) = 0;
  };
  class Pass;

  struct UserPoll {
    std::uint64_t generation = 0;  // tells a removed-and-re-added user apart
    Scheduler::TaskId timer = 0;
    bool timer_set = false;
    std::uint64_t timer_seq = 0;  // a timer task runs only if still current
    absl::Time timer_at;          // when it fires (scheduler time)
    std::shared_ptr<leaf::Cancellable> in_flight;
    std::uint64_t read_seq = 0;  // tells reads of one user apart
    bool reading = false;
    bool prompted_read = false;   // the read in flight was prompted
    bool prompt_pending = false;  // a prompted read is to come
    absl::Time last_start = absl::InfinitePast();
    int failures = 0;
  };
  // A read to start once mu_ is released.
  struct Start {
    std::string user;
    std::uint64_t generation = 0;
    std::uint64_t read_seq = 0;
    Source source = Source::kPoll;
  };

  // Marks a read of `poll` started. Under mu_.
  Start Begin(const std::string& user, UserPoll& poll, Source source)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Arms `poll`'s timer for `delay` from now (replacing any); returns the
  // timer it replaced, if any, to cancel outside mu_. Under mu_.
  bool ArmLocked(const std::string& user, UserPoll& poll, absl::Duration delay,
                 Scheduler::TaskId* replaced) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Run(Start start);  // not under mu_
  void OnTimer(const std::string& user, std::uint64_t generation, std::uint64_t seq);
  void Finished(const Start& read, const Observation& observation);

  Scheduler* const scheduler_;
  const Fetch fetch_;
  const PollerOptions options_;
  const std::function<double()> random_;
  const std::function<absl::Time()> now_;
  const std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();
  Sink sink_;
  mutable absl::Mutex mu_;
  std::uint64_t next_generation_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, UserPoll> users_ ABSL_GUARDED_BY(mu_);
};

}  // namespace leafsvc::watch

#endif  // SERVER_WATCH_POLLER_H_
