// Reads each watched user's credentials from Leaf on a schedule: at once when
// the user is added, then every `interval` plus a random share of `jitter`
// (so users added together do not stay in lockstep), backing off
// exponentially while reads fail, and soon when prompted (a Leaf alert).
// One read per user at a time, whoever asked; the Leaf client's own limits
// (--max_upstream_in_flight, the connection pool) apply to every read.
//
// Polls live within Leaf's rate limit (docs/watch.md, "Polls within Leaf's
// rate limit"): with W users and `requests_per_minute` for polls, a user's
// next scheduled read is max(interval, W / rate) after its last one, so W
// users cost at most the rate. A Sweeper (sweeper.h) may read many users per
// request through Leaf's user listing and report them here (Observed); their
// own reads then wait.
//
// A prompt is only a doorbell (alerts come from the open network and can be
// replayed): prompted reads of a user are coalesced (at most one pending or
// in flight), spaced by `min_prompt_interval` from the start of the user's
// last read, and never move a read earlier while the user's reads fail (its
// backoff stands).
#ifndef SERVER_WATCH_POLLER_H_
#define SERVER_WATCH_POLLER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/leaf/leaf_call.h"
#include "server/platform/callback_gate.h"
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

// The share of the Leaf request budget's rate polls may spend (the rest is
// for callers, alert-prompted reads and bulk work). The example,
// 10,000 users at 1,000/min read about every 20 minutes, is exactly 50%.
inline constexpr double kPollBudgetShare = 0.5;

struct PollerOptions {
  absl::Duration interval = absl::Seconds(30);
  // A random share of this is added to each wait, scaled like the effective
  // interval (jitter x effective / interval), so paced users stay spread.
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
  // Most reads of ours in flight at once (0: no limit); the others queue
  // (alert-prompted first) and start as reads end. Thousands of users
  // added together would otherwise all wait in Leaf's request budget at
  // once, holding the Leaf client's in-flight slots, and a sweep page (one
  // request for a thousand users) would queue behind all of them.
  int max_reads_in_flight = 16;
  // Requests per minute scheduled reads (and sweeps) may spend; asked each
  // time a read is scheduled (the budget's rate drops after Leaf's 429s).
  // Empty or <= 0: unlimited. Prompted and initial reads are not paced by
  // it (the budget itself queues them). Called under the poller's lock:
  // must not call the poller.
  std::function<double()> requests_per_minute;
  // Told the effective interval (how often each watched user is read)
  // whenever it changes. Called under the poller's lock: must be quick and
  // not call the poller.
  std::function<void(absl::Duration)> on_effective_interval;
};

class Poller final : public PollControl {
 public:
  // Starts one read of `user` for `source` (its priority in the Leaf
  // budget); `done` runs exactly once (maybe inline, maybe on another thread
  // after the poller is gone: the poller guards itself).
  using Fetch = std::function<std::shared_ptr<leaf::Cancellable>(
      const std::string& user, Source source, std::function<void(Observation)> done)>;
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
  bool Watches(const std::string& user) const;

  // Reads started and finished so far (a counter): a sweep notes it before
  // requesting a page and hands it to Observed, which then knows which own
  // reads began or ended after the page was asked for.
  std::uint64_t ReadEpoch() const;
  // A sweep (requested when ReadEpoch() was `epoch`) found `user` with
  // `observation`: reported to the sink as a poll and the user's own read
  // pushed back, unless the user is not watched or a read of it began or
  // ended after the page was requested (Leaf may have answered it after the
  // page: an older answer never follows a newer one). A read of ours that
  // began before the page and has not reported (e.g. queued in the budget)
  // is cancelled and its answer dropped: the page is at least as new.
  // True when reported.
  bool Observed(const std::string& user, const Observation& observation, std::uint64_t epoch);
  // Sweeps read the users in `pages` requests per round (0: no sweeping);
  // the effective interval reported is then the sweeps'.
  void SetSweepPages(int pages);
  // How often a sweep round may run: max(interval, pages / rate).
  absl::Duration SweepInterval() const;
  // How often each watched user is read now (what on_effective_interval
  // was last told).
  absl::Duration EffectiveInterval() const;
  const PollerOptions& options() const { return options_; }

  // max(interval, requests / (rpm / 60 s)); `interval` when rpm <= 0.
  static absl::Duration PacedInterval(absl::Duration interval, double rpm, int requests);
  // The wait after a read: `failures` consecutive failed reads (0: it
  // succeeded) and `u` uniform in [0, 1), with reads spaced `effective`
  // (at least options.interval); the backoff is never shorter than it.
  static absl::Duration NextDelay(const PollerOptions& options, int failures, double u,
                                  absl::Duration effective);
  static absl::Duration NextDelay(const PollerOptions& options, int failures, double u) {
    return NextDelay(options, failures, u, options.interval);
  }

  // When a timer armed at `now` for `delay` fires. A wait of a second or
  // more (a poll, a backoff) ends on the next multiple of kTimerGrid, never
  // earlier than asked: the timers of the users due within one grid step
  // then fire together, in one wake-up of the scheduler thread, and their
  // reads leave together (10,000 users every 30 s: about 7 a wake-up
  // instead of one; an idle minute's CPU 2.8-3.1 s -> 2.2-2.4 s,
  // docs/performance.md). Shorter waits are kept exact.
  static absl::Time TimerTime(absl::Time now, absl::Duration delay);
  static constexpr absl::Duration kTimerGrid = absl::Milliseconds(20);
  static constexpr absl::Duration kTimerGridFrom = absl::Seconds(1);

 private:
  struct UserPoll {
    std::uint64_t generation = 0;  // tells a removed-and-re-added user apart
    bool timer_set = false;        // its entry in due_
    absl::Time timer_at;           // when it fires (scheduler time)
    std::shared_ptr<leaf::Cancellable> in_flight;
    std::uint64_t read_seq = 0;  // tells reads of one user apart
    bool reading = false;
    bool prompted_read = false;             // the read in flight was prompted
    bool prompt_pending = false;            // a prompted read is to come
    Source prompt_source = Source::kAlert;  // what it was prompted by
    absl::Time last_start = absl::InfinitePast();
    std::uint64_t last_epoch = 0;  // ReadEpoch() when its last read began or ended
    // The scheduled read's plan: armed at (scheduler time) with the jitter
    // draw, after a sweep's observation or not. When it fires, the pacing is
    // recomputed (users added, the rate dropped): a read due later waits.
    absl::Time armed_from;
    double armed_u = 0;
    bool armed_swept = false;
    int failures = 0;
    // The source of a read Leaf's budget refused (kNotRead), to be read
    // again when its timer fires (not paced: it is owed).
    std::optional<Source> refused_source;
  };
  // A read to start once mu_ is released.
  struct Start {
    std::string user;
    std::uint64_t generation = 0;
    std::uint64_t read_seq = 0;
    Source source = Source::kPoll;
    bool swept = false;  // an Observed sweep result, not a read of ours
  };

  // Marks a read of `poll` started. Under mu_.
  Start Begin(const std::string& user, UserPoll& poll, Source source)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Arms `poll`'s timer for `delay` from now (replacing any). `user` is its
  // key in users_ (due_ points at it). Under mu_.
  void ArmLocked(const std::string& user, UserPoll& poll, absl::Duration delay)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops `poll`'s timer, if set.
  void DisarmLocked(UserPoll& poll) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The scheduler's wake-up planned for `at`: runs every timer due (the
  // reads they start leave after mu_ is released), then plans the next.
  void Wake(absl::Time at);
  // Starts `start`, or queues it when max_reads_in_flight are in flight.
  void Run(Start start);     // not under mu_
  void Launch(Start start);  // not under mu_
  // A read of ours ended: the next queued one starts.
  void ReadEnded();  // not under mu_
  // `poll`'s timer fired (its entry already left due_): a read to start,
  // or none (re-armed for a later time).
  std::optional<Start> OnTimerLocked(const std::string& user, UserPoll& poll)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Finished(const Start& read, const Observation& observation);
  double RateLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The interval between a user's own scheduled reads: max(interval, W /
  // rate).
  absl::Duration OwnIntervalLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Duration SweepIntervalLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The spacing of `poll`'s scheduled reads now.
  absl::Duration PacingLocked(const UserPoll& poll) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Tells on_effective_interval when the interval changed.
  void ReportLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Scheduler* const scheduler_;
  const Fetch fetch_;
  const PollerOptions options_;
  const std::function<double()> random_;
  const std::function<absl::Time()> now_;
  // Admits callbacks while this lives (the destructor closes it).
  const std::shared_ptr<CallbackGate> gate_ = std::make_shared<CallbackGate>();
  Sink sink_;
  mutable absl::Mutex mu_;
  std::uint64_t next_generation_ ABSL_GUARDED_BY(mu_) = 0;
  // A node map: a flat map's empty slots (up to half its capacity) would
  // each cost a whole UserPoll per watched user.
  absl::node_hash_map<std::string, UserPoll> users_ ABSL_GUARDED_BY(mu_);
  // Every timer set, by when it fires (and the user's generation, unique),
  // pointing at the user's key in users_ (a node map: the key stays put
  // until the user is erased, and its entry here goes first). One scheduler
  // task at a time wakes the poller for the earliest: a timer costs one
  // node here, where a task per user cost its own two scheduler entries, a
  // closure and a copy of the user id (about 0.2 KB per watched user).
  std::map<std::pair<absl::Time, std::uint64_t>, const std::string*> due_ ABSL_GUARDED_BY(mu_);
  // The earliest wake-up planned (InfiniteFuture: none) and its task.
  absl::Time wake_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  Scheduler::TaskId wake_task_ ABSL_GUARDED_BY(mu_) = 0;
  int reads_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<Start> queued_ ABSL_GUARDED_BY(mu_);
  bool pumping_ ABSL_GUARDED_BY(mu_) = false;
  bool repump_ ABSL_GUARDED_BY(mu_) = false;
  std::uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 0;
  int sweep_pages_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration reported_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
};

}  // namespace leafsvc::watch

#endif  // SERVER_WATCH_POLLER_H_
