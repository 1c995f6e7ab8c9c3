#include "client/progress.h"

#include <sstream>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace leafsvc::client {
namespace {

TEST(FormatProgress, BarWithRateAndEta) {
  EXPECT_EQ(FormatProgress(500, 1000, absl::Seconds(2), true),
            "[##########----------] 500/1000  50%  250/s  ETA 2s");
  EXPECT_EQ(FormatProgress(500, 1000, absl::Seconds(2), false),
            "500/1000 users (50%), 250/s, ETA 2s");
  EXPECT_EQ(FormatProgress(100, 100000, absl::Seconds(10), false),
            "100/100000 users (0%), 10/s, ETA 2h46m");
}

TEST(FormatProgress, WithoutTotalOrTime) {
  EXPECT_EQ(FormatProgress(42, std::nullopt, absl::Seconds(2), false), "42 users, 21/s");
  EXPECT_EQ(FormatProgress(0, 10, absl::ZeroDuration(), true),
            "[--------------------] 0/10  0%  0.0/s  ETA ?");
}

ProgressView View(int64_t done, std::optional<int64_t> total, absl::Duration elapsed,
                  std::optional<int64_t> budget) {
  ProgressView v;
  v.done = done;
  v.total = total;
  v.elapsed = elapsed;
  v.budget_per_minute = budget;
  return v;
}

// Early on, tokens at hand make the observed rate optimistic: the budget's
// slower view (900 users left at 160 a minute) wins and is named.
TEST(FormatProgress, BudgetEtaWhenLargerAndSaysWhereItCameFrom) {
  EXPECT_EQ(FormatProgress(View(100, 1000, absl::Seconds(1), 160), false),
            "100/1000 users (10%), 100/s, ETA 5m37s (Leaf budget: 160 requests/min for bulk "
            "work)");
  EXPECT_EQ(FormatProgress(View(100, 1000, absl::Seconds(1), 160), true),
            "[##------------------] 100/1000  10%  100/s  ETA 5m37s (Leaf budget: 160 "
            "requests/min for bulk work)");
  // Nothing done yet: no observed rate, the budget's ETA alone (16 at 160/min).
  EXPECT_EQ(FormatProgress(View(0, 16, absl::ZeroDuration(), 160), false),
            "0/16 users (0%), 0.0/s, ETA 6s (Leaf budget: 160 requests/min for bulk work)");
}

// When Leaf is slower than the budget, the observed rate's ETA is larger and
// shown, without the budget's note.
TEST(FormatProgress, ObservedEtaWhenLarger) {
  EXPECT_EQ(FormatProgress(View(10, 1000, absl::Seconds(10), 6000), false),
            "10/1000 users (1%), 1.0/s, ETA 16m30s");
  // No budget (unlimited server) or a zero one: the observed ETA as before.
  EXPECT_EQ(FormatProgress(View(500, 1000, absl::Seconds(2), std::nullopt), false),
            "500/1000 users (50%), 250/s, ETA 2s");
  EXPECT_EQ(FormatProgress(View(500, 1000, absl::Seconds(2), 0), false),
            "500/1000 users (50%), 250/s, ETA 2s");
}

// A walk of every user: no total, an approximate ETA from Leaf's user count
// when the budget is known, none otherwise.
TEST(FormatProgress, ApproximateEtaOfAWalk) {
  ProgressView v = View(3, std::nullopt, absl::Seconds(1), 120);
  EXPECT_EQ(FormatProgress(v, false), "3 users, 3.0/s");
  v.budget_requests_left = 90;
  EXPECT_EQ(FormatProgress(v, false),
            "3 users, 3.0/s, ETA ~45s (approximate; Leaf budget: 120 requests/min for bulk "
            "work)");
  EXPECT_EQ(FormatProgress(v, true),
            "3 done  3.0/s  ETA ~45s (approximate; Leaf budget: 120 requests/min for bulk work)");
  v.budget_per_minute.reset();
  EXPECT_EQ(FormatProgress(v, false), "3 users, 3.0/s");
}

TEST(FormatProgress, WaitingForTheBudget) {
  ProgressView v = View(650, 1000, absl::Seconds(10), std::nullopt);
  v.waiting = absl::Seconds(4);
  v.deferred = 350;
  EXPECT_EQ(FormatProgress(v, false),
            "650/1000 users (65%), 65/s, ETA 6s, waiting 4s for Leaf's request budget; 350 "
            "users deferred");
  EXPECT_EQ(FormatProgress(v, true),
            "[#############-------] 650/1000  65%  65/s  ETA 6s  waiting 4s for Leaf's request "
            "budget; 350 users deferred");
  v.deferred = 1;
  EXPECT_TRUE(absl::EndsWith(FormatProgress(v, false), "; 1 user deferred"));
  v.deferred = 0;  // a refused page of a walk
  EXPECT_TRUE(absl::EndsWith(FormatProgress(v, false), ", waiting 4s for Leaf's request budget"));
}

// The budget's ETA of a walk counts down with time at the announced rate.
TEST(Progress, WalkEstimateCountsDown) {
  std::ostringstream err;
  absl::Time now = absl::FromUnixSeconds(1000);
  Progress p(err, Progress::Mode::kBar, absl::Seconds(5), [&] { return now; });
  p.SetBudget(120);
  p.SetBudgetRequestsTotal(100);  // 50 s of budget
  now += absl::Seconds(10);
  p.Advance(20);
  EXPECT_EQ(err.str(),
            "\r20 done  2.0/s  ETA ~40s (approximate; Leaf budget: 120 requests/min for bulk "
            "work)\x1b[K");
  // Finished: the estimate is dropped, whatever it said.
  p.Finish();
  EXPECT_TRUE(absl::EndsWith(err.str(), "\r20 done  2.0/s\x1b[K\n")) << err.str();
}

// A wait is shown at once even between plain lines, and only while it lasts.
TEST(Progress, WaitingShownAtOnce) {
  std::ostringstream err;
  absl::Time now = absl::FromUnixSeconds(1000);
  Progress p(err, Progress::Mode::kPlain, absl::Seconds(5), [&] { return now; });
  p.SetTotal(10);
  p.SetBudget(60);
  now += absl::Seconds(1);
  p.Advance(6);
  EXPECT_EQ(err.str(), "");
  p.Waiting(absl::Seconds(4), 4);
  EXPECT_EQ(err.str(),
            "audit: 6/10 users (60%), 6.0/s, ETA 4s (Leaf budget: 60 requests/min for bulk "
            "work), waiting 4s for Leaf's request budget; 4 users deferred\n");
  p.EndWaiting();
  now += absl::Seconds(10);
  p.Advance(4);
  EXPECT_TRUE(absl::EndsWith(err.str(), "audit: 10/10 users (100%), 0.9/s, ETA 0s\n")) << err.str();

  std::ostringstream quiet;
  Progress none(quiet, Progress::Mode::kNone);
  none.SetBudget(60);
  none.Waiting(absl::Seconds(4), 4);
  none.Finish();
  EXPECT_EQ(quiet.str(), "");
}

TEST(Progress, PlainLinesOnlyEveryInterval) {
  std::ostringstream err;
  absl::Time now = absl::FromUnixSeconds(1000);
  Progress p(err, Progress::Mode::kPlain, absl::Seconds(5), [&] { return now; });
  p.SetTotal(10);
  p.Advance(1);
  now += absl::Seconds(1);
  p.Advance(1);
  EXPECT_EQ(err.str(), "");
  now += absl::Seconds(5);
  p.Advance(1);
  EXPECT_EQ(err.str(), "audit: 3/10 users (30%), 0.5/s, ETA 14s\n");
  p.Finish();
  EXPECT_TRUE(absl::EndsWith(err.str(), "audit: 3/10 users (30%), 0.5/s, ETA 14s\n"));
}

TEST(Progress, BarRedrawsInPlace) {
  std::ostringstream err;
  absl::Time now = absl::FromUnixSeconds(1000);
  Progress p(err, Progress::Mode::kBar, absl::Seconds(5), [&] { return now; });
  p.SetTotal(4);
  now += absl::Seconds(1);
  p.Advance(2);
  p.Finish();
  EXPECT_EQ(err.str(),
            "\r[##########----------] 2/4  50%  2.0/s  ETA 1s\x1b[K"
            "\r[##########----------] 2/4  50%  2.0/s  ETA 1s\x1b[K\n");
}

TEST(Progress, NoneIsSilent) {
  std::ostringstream err;
  Progress p(err, Progress::Mode::kNone);
  p.Advance(5);
  p.Finish();
  EXPECT_EQ(err.str(), "");
}

}  // namespace
}  // namespace leafsvc::client
