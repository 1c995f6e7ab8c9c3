// Progress of a long client run on stderr: on a terminal, one bar redrawn in
// place (done/total, rate, ETA); otherwise a plain line every few seconds,
// so logs of a scripted run show it is alive without filling up.
//
// The ETA is the larger of two views: the observed rate (optimistic at the
// start, while the server still has Leaf request tokens at hand) and Leaf's
// request budget for bulk work as the server announces it
// (x-leaf-budget-bulk-per-minute; optimistic when Leaf slows down). The line
// names the budget when its figure is the one shown.
#ifndef CLIENT_PROGRESS_H_
#define CLIENT_PROGRESS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "absl/time/time.h"

namespace leafsvc::client {

// What one progress line shows.
struct ProgressView {
  int64_t done = 0;
  std::optional<int64_t> total;
  absl::Duration elapsed;
  // Leaf requests a minute the server's budget gives bulk work now; unset
  // when the budget is unlimited or not announced.
  std::optional<int64_t> budget_per_minute;
  // Leaf requests the rest of the run needs in the budget's view when that
  // is not one per user left (total - done): set for a walk of every user,
  // where it is only an estimate and the ETA says so ("ETA ~5m").
  std::optional<double> budget_requests_left;
  // While waiting before asking again for users the budget deferred.
  absl::Duration waiting = absl::ZeroDuration();
  int64_t deferred = 0;
};

// "[##########----------] 500/1000  50%  250/s  ETA 2s" (bar) or
// "500/1000 users (50%), 250/s, ETA 2s" (plain); "ETA 12m (Leaf budget: 160
// requests/min for bulk work)" when the budget's ETA is the larger. Without a
// total: the count and the rate only (and an approximate ETA from the
// budget when budget_requests_left is known). While waiting, "waiting 4s for
// Leaf's request budget; 350 users deferred" follows (without the count
// when `deferred` is 0: a page of a walk).
std::string FormatProgress(const ProgressView& view, bool bar);
std::string FormatProgress(int64_t done, std::optional<int64_t> total, absl::Duration elapsed,
                           bool bar);

class Progress {
 public:
  enum class Mode { kBar, kPlain, kNone };
  // `now` is for tests; the real clock by default.
  Progress(std::ostream& err, Mode mode, absl::Duration plain_interval = absl::Seconds(5),
           std::function<absl::Time()> now = nullptr);

  void SetTotal(std::optional<int64_t> total) { total_ = total; }
  // The server's latest x-leaf-budget-bulk-per-minute (unset: unlimited).
  void SetBudget(std::optional<int64_t> bulk_per_minute) { budget_per_minute_ = bulk_per_minute; }
  // A walk of every user: about how many Leaf requests it takes in all
  // (unset: unknown). The budget's ETA counts down from it.
  void SetBudgetRequestsTotal(std::optional<double> requests) { budget_requests_total_ = requests; }
  void Advance(int64_t n);
  // Shown at once (in any mode but kNone): the run now waits `delay` before
  // asking again for `deferred` users. Cleared by EndWaiting().
  void Waiting(absl::Duration delay, int64_t deferred);
  void EndWaiting();
  // The last state, and a newline after a bar.
  void Finish();

 private:
  void Show();

  std::ostream& err_;
  const Mode mode_;
  const absl::Duration interval_;
  const std::function<absl::Time()> now_;
  const absl::Time start_;
  absl::Time last_shown_;
  int64_t done_ = 0;
  std::optional<int64_t> total_;
  std::optional<int64_t> budget_per_minute_;
  std::optional<double> budget_requests_total_;
  absl::Duration waiting_ = absl::ZeroDuration();
  int64_t deferred_ = 0;
};

}  // namespace leafsvc::client

#endif  // CLIENT_PROGRESS_H_
