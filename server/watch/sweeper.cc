#include "server/watch/sweeper.h"

#include <algorithm>
#include <climits>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "server/ids/leaf_user_id.h"

namespace leafsvc::watch {

Sweeper::Sweeper(Scheduler* scheduler, Poller* poller, SweepFetch fetch, SweeperOptions options)
    : scheduler_(scheduler), poller_(poller), fetch_(std::move(fetch)), options_(options) {}

Sweeper::~Sweeper() {
  // A page's answer may arrive on any thread at any time: from here on it
  // does nothing, and those already inside finish first.
  gate_->Close();
  std::shared_ptr<leaf::Cancellable> call;
  Scheduler::TaskId timer = 0;
  bool timer_set = false;
  {
    absl::MutexLock lock(&mu_);
    started_ = false;
    round_running_ = false;
    ++page_seq_;
    call = std::move(call_);
    timer = timer_;
    timer_set = timer_set_;
    timer_set_ = false;
  }
  if (timer_set) scheduler_->Cancel(timer);
  if (call) call->Cancel();  // its answer (maybe inline) finds the gate closed
}

int Sweeper::Pages(long long total, int page_size) {
  page_size = std::max(page_size, 1);
  if (total <= 0) return 1;  // an empty listing still costs its one page
  return static_cast<int>(std::min<long long>(INT_MAX, (total + page_size - 1) / page_size));
}

int Sweeper::EstimatedPagesLocked() const {
  return Pages(total_ ? *total_ : lower_bound_, options_.page_size);
}

int Sweeper::DecideLocked() {
  const int pages = EstimatedPagesLocked();
  // Strictly cheaper than one GET per watched user, or not at all.
  const int sweep = pages < poller_->size() ? pages : 0;
  poller_->SetSweepPages(sweep);
  return sweep;
}

void Sweeper::Start() {
  absl::MutexLock lock(&mu_);
  if (started_) return;
  started_ = true;
  ArmLocked(absl::Now());
}

bool Sweeper::running() const {
  absl::MutexLock lock(&mu_);
  return round_running_;
}

void Sweeper::ArmLocked(absl::Time when) {
  // A timer replaced is left to find itself stale (cancelling under mu_
  // could wait for a task that waits for mu_).
  const std::uint64_t seq = ++timer_seq_;
  timer_set_ = true;
  // The scheduler never runs a task inside RunAt, so this is safe under mu_.
  timer_ = scheduler_->RunAt(when, [gate = gate_, this, seq] {
    CallbackGate::Pass pass(gate.get());
    if (!pass) return;
    {
      absl::MutexLock lock(&mu_);
      if (!started_ || seq != timer_seq_) return;
      timer_set_ = false;
    }
    Round();
  });
}

bool Sweeper::Round() {
  std::uint64_t seq = 0;
  {
    absl::MutexLock lock(&mu_);
    if (round_running_) return false;
    if (DecideLocked() == 0) {
      if (started_) ArmLocked(absl::Now() + poller_->options().interval);
      return false;
    }
    round_running_ = true;
    round_start_ = absl::Now();
    seen_.clear();
    seq = ++page_seq_;
    page_answered_ = false;
  }
  RequestPage(0, seq);
  return true;
}

void Sweeper::RequestPage(int page, std::uint64_t seq) {
  // Noted before the request: a user's own read that begins or ends after
  // this may be newer than what the page says of it.
  const std::uint64_t epoch = poller_->ReadEpoch();
  std::shared_ptr<leaf::Cancellable> call =
      fetch_(page, options_.page_size, absl::Now() + options_.page_timeout,
             [gate = gate_, this, page, seq, epoch](absl::StatusOr<leaf::LeafUsersPage> result) {
               CallbackGate::Pass pass(gate.get());
               if (pass) OnPage(page, seq, epoch, std::move(result));
             });
  absl::MutexLock lock(&mu_);
  // Kept only while this page is still awaited (it may have been answered
  // inline).
  if (round_running_ && page_seq_ == seq && !page_answered_) call_ = std::move(call);
}

void Sweeper::OnPage(int page, std::uint64_t seq, std::uint64_t epoch,
                     absl::StatusOr<leaf::LeafUsersPage> result) {
  {
    absl::MutexLock lock(&mu_);
    if (!round_running_ || seq != page_seq_) return;
    page_answered_ = true;
    call_.reset();
    if (!result.ok()) {
      // The users not seen yet keep their own reads (their timers were
      // never pushed back); the next round waits the backoff.
      EndRoundLocked(/*failed=*/true);
      return;
    }
  }
  // Reported outside mu_: the poller's sink delivers changes.
  std::vector<std::string> found;
  for (const leaf::LeafUser& user : result->users) {
    std::string id = CanonicalLeafUserId(user.id);
    if (!poller_->Watches(id)) continue;
    // Listed with credentials (id and status): present. Listed with the
    // member null: Leaf says none. Missing member, or credentials without a
    // status (Leaf does not document that the embedded object carries it):
    // left to the user's own read.
    if (user.credentials && !user.credentials->id.empty() && !user.credentials->status.empty()) {
      Observation observation;
      observation.kind = Observation::Kind::kPresent;
      observation.credentials = *user.credentials;
      poller_->Observed(id, observation, epoch);
    } else if (user.credentials_null) {
      Observation observation;
      observation.kind = Observation::Kind::kAbsent;
      poller_->Observed(id, observation, epoch);
    }
    found.push_back(std::move(id));
  }
  std::uint64_t next_seq = 0;
  {
    absl::MutexLock lock(&mu_);
    if (!round_running_ || seq != page_seq_) return;
    for (std::string& id : found) seen_.insert(std::move(id));
    const long long size = options_.page_size;
    const long long listed = static_cast<long long>(result->users.size());
    bool last = listed < size;
    if (result->total_count) {
      total_ = *result->total_count;
      lower_bound_ = 0;
    } else if (last) {
      total_ = page * size + listed;
      lower_bound_ = 0;
    } else {
      // No count: at least one more user than the pages read so far hold.
      const long long at_least = (page + 1) * size + 1;
      if (total_ && *total_ < at_least) total_.reset();
      lower_bound_ = std::max(lower_bound_, at_least);
    }
    const int pages = EstimatedPagesLocked();
    const int watched = poller_->size();
    const int unseen = std::max(0, watched - static_cast<int>(seen_.size()));
    const int left = pages - (page + 1);
    // Go on only while the pages left cost less than reading the users not
    // seen yet one by one, and the round stays under W requests.
    if (last || left <= 0 || left >= unseen || page + 2 >= watched) {
      EndRoundLocked(/*failed=*/false);
      return;
    }
    poller_->SetSweepPages(pages);  // the count may have changed the round's cost
    next_seq = ++page_seq_;
    page_answered_ = false;
  }
  RequestPage(page + 1, next_seq);
}

void Sweeper::EndRoundLocked(bool failed) {
  round_running_ = false;
  ++page_seq_;
  failures_ = failed ? failures_ + 1 : 0;
  const int pages = DecideLocked();
  if (!started_) return;
  const absl::Time now = absl::Now();
  const PollerOptions& poll = poller_->options();
  if (failed) {
    ArmLocked(now + Poller::NextDelay(poll, failures_, 0.0, poller_->SweepInterval()));
  } else if (pages > 0) {
    // Rounds paced from their start: max(interval, pages / rate).
    ArmLocked(std::max(now, round_start_ + poller_->SweepInterval()));
  } else {
    ArmLocked(now + poll.interval);
  }
}

}  // namespace leafsvc::watch
