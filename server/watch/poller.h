// Reads each watched user's credentials from Leaf on a schedule: at once when
// the user is added, then every `interval` plus a random share of `jitter`
// (so users added together do not stay in lockstep), backing off
// exponentially while reads fail, and at once when prompted (a Leaf alert).
// One read per user at a time, whoever asked; the Leaf client's own limits
// (--max_upstream_in_flight, the connection pool) apply to every read.
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
#include "server/util/scheduler.h"
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
  // Reads `user` now (or right after the read in flight) with `source`.
  virtual void PollNow(const std::string& user, Source source) = 0;
};

struct PollerOptions {
  absl::Duration interval = absl::Seconds(30);
  absl::Duration jitter = absl::Seconds(5);
  // Longest wait between reads while they fail (at least `interval`).
  absl::Duration max_backoff = absl::Minutes(5);
  // Uniform in [0, 1); tests may fix it.
  std::function<double()> random;
};

class Poller final : public PollControl {
 public:
  // Starts one read of `user`; `done` runs exactly once (maybe inline).
  using Fetch = std::function<std::shared_ptr<leaf::LeafCall>(
      const std::string& user, std::function<void(Observation)> done)>;
  // Told every read's outcome, on the thread that finished it.
  using Sink = std::function<void(const std::string& user, const Observation&, Source)>;

  // `scheduler` must outlive the poller.
  Poller(Scheduler* scheduler, Fetch fetch, PollerOptions options);
  ~Poller() override;

  // Where outcomes go; set before the first Add.
  void SetSink(Sink sink) { sink_ = std::move(sink); }

  void Add(const std::string& user) override;
  void Remove(const std::string& user) override;
  void PollNow(const std::string& user, Source source) override;

  // Users being read.
  int size() const;

  // The wait after a read: `failures` consecutive failed reads (0: it
  // succeeded) and `u` uniform in [0, 1).
  static absl::Duration NextDelay(const PollerOptions& options, int failures, double u);

 private:
  struct UserPoll {
    std::uint64_t generation = 0;  // tells a removed-and-re-added user apart
    Scheduler::TaskId timer = 0;
    bool timer_set = false;
    std::shared_ptr<leaf::LeafCall> in_flight;
    bool reading = false;
    bool prompt_pending = false;  // PollNow during a read: read again after it
    int failures = 0;
  };

  // Starts a read of `user` unless one is in flight. Not under mu_.
  void Read(const std::string& user, std::uint64_t generation, Source source);
  void Finished(const std::string& user, std::uint64_t generation, Source source,
                const Observation& observation);

  Scheduler* const scheduler_;
  const Fetch fetch_;
  const PollerOptions options_;
  const std::function<double()> random_;
  Sink sink_;
  mutable absl::Mutex mu_;
  std::uint64_t next_generation_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, UserPoll> users_ ABSL_GUARDED_BY(mu_);
};

}  // namespace leafsvc::watch

#endif  // SERVER_WATCH_POLLER_H_
