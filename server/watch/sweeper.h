// Reads the poller's watched users through Leaf's user listing (GET
// /users?page=&size=, each user with its credentials embedded: up to a
// page size of users per request) when that costs fewer requests than one
// GET per watched user, and reports each watched user it finds to the
// poller (Poller::Observed), whose own reads of those users then wait.
//
// The rule (docs/watch.md, "Polls within Leaf's rate limit"): with W
// watched users and a listing of T users (X-Total-Count of the last page
// read; unknown at first), a round costs P = ceil(T / page_size) requests;
// a round runs only when P < W (strictly cheaper). Unknown T counts as one
// page, so with W >= 2 the first round reads page 0, which tells T. A round
// walks pages one after the other (never in parallel) and stops early once
// the pages left are not fewer than the watched users not yet seen, or once
// the round would cost W pages (a listing without X-Total-Count is learned
// that way). Rounds start at most every max(interval, P / rate) (the
// poller's SweepInterval, also its reported effective interval).
//
// What a sweep leaves to the users' own reads: a watched user the listing
// does not hold, or whose embedded credentials are null, missing or carry no
// status (Leaf does not document that they carry one; a decoded listing
// cannot tell null from missing, so no user is reported absent from a
// listing); every user after a failed page (the round ends; the next one
// waits the poller's backoff).
#ifndef SERVER_WATCH_SWEEPER_H_
#define SERVER_WATCH_SWEEPER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/leaf/leaf_call.h"
#include "server/leaf/leaf_users_json.h"
#include "server/platform/callback_gate.h"
#include "server/platform/scheduler.h"
#include "server/watch/poller.h"

namespace leafsvc::watch {

// Users per listing page: Leaf's list convention and the emulator allow
// `size` up to 2000; 1000 keeps a page's body (credentials with secrets
// echoed, about 0.5 KB per user) near half a megabyte.
inline constexpr int kSweepPageSize = 1000;

struct SweeperOptions {
  int page_size = kSweepPageSize;  // 1 to 2000
  // Bounds each page's request (the upstream timeout).
  absl::Duration page_timeout = absl::Seconds(30);
};

class Sweeper {
 public:
  using PageDone = std::function<void(absl::StatusOr<leaf::LeafUsersPage>)>;
  // Requests one listing page (from 0) of `size` users before `deadline`;
  // `done` runs exactly once (maybe inline, maybe after the sweeper is gone:
  // it guards itself).
  using SweepFetch = std::function<std::shared_ptr<leaf::Cancellable>(
      int page, int size, absl::Time deadline, PageDone done)>;

  // `scheduler` and `poller` must outlive the sweeper (destroy the sweeper
  // first). The poller's options give the interval, rate and backoff.
  Sweeper(Scheduler* scheduler, Poller* poller, SweepFetch fetch, SweeperOptions options = {});
  // Waits for callbacks already running in the sweeper to return, then
  // cancels its timer and the page in flight.
  ~Sweeper();

  // Decides at once, then at every interval (or round), whether to sweep.
  void Start();
  // Starts a round now if the rule says so and none is running (Start's
  // timer calls it; tests may). True when a round started.
  bool Round();
  bool running() const;

  // Requests for one round over `total` listed users.
  static int Pages(long long total, int page_size);

 private:
  // Pages a round would cost now, or 0 when per-user reads are cheaper;
  // tells the poller.
  int DecideLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int EstimatedPagesLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RequestPage(int page, std::uint64_t seq);  // not under mu_
  void OnPage(int page, std::uint64_t seq, std::uint64_t epoch,
              absl::StatusOr<leaf::LeafUsersPage> result);
  // Ends the round and arms the next decision.
  void EndRoundLocked(bool failed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ArmLocked(absl::Time when) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Scheduler* const scheduler_;
  Poller* const poller_;
  const SweepFetch fetch_;
  const SweeperOptions options_;
  // Admits callbacks while this lives (the destructor closes it).
  const std::shared_ptr<CallbackGate> gate_ = std::make_shared<CallbackGate>();

  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool timer_set_ ABSL_GUARDED_BY(mu_) = false;
  Scheduler::TaskId timer_ ABSL_GUARDED_BY(mu_) = 0;
  std::uint64_t timer_seq_ ABSL_GUARDED_BY(mu_) = 0;
  // The round: whether one runs, its start, the page asked last (page_seq_
  // tells requests apart), the watched users it found.
  bool round_running_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time round_start_ ABSL_GUARDED_BY(mu_);
  std::uint64_t page_seq_ ABSL_GUARDED_BY(mu_) = 0;
  bool page_answered_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<leaf::Cancellable> call_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> seen_ ABSL_GUARDED_BY(mu_);
  int failures_ ABSL_GUARDED_BY(mu_) = 0;
  // The listing's size: Leaf's count, else learned from a short last page;
  // at least lower_bound_ users (a walk that stopped before the end).
  std::optional<long long> total_ ABSL_GUARDED_BY(mu_);
  long long lower_bound_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace leafsvc::watch

#endif  // SERVER_WATCH_SWEEPER_H_
