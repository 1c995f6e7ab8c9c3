#include "server/watch/sweeper.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "server/watch/poller.h"
#include "tests/watch/observations.h"
#include "tests/watch/sweeper_fakes.h"

namespace leafsvc::watch {
namespace {

TEST(SweeperTest, PagesRoundsUp) {
  EXPECT_EQ(Sweeper::Pages(0, 1000), 1);
  EXPECT_EQ(Sweeper::Pages(1, 1000), 1);
  EXPECT_EQ(Sweeper::Pages(1000, 1000), 1);
  EXPECT_EQ(Sweeper::Pages(1001, 1000), 2);
  EXPECT_EQ(Sweeper::Pages(10000, 1000), 10);
}

// A round runs only when its pages are fewer than the watched users; the
// first (count unknown) reads one page, which tells the count.
TEST(SweeperTest, SweepsOnlyWhenCheaperThanOneReadPerUser) {
  Scheduler scheduler;
  FakeReads reads;
  FakeListing listing;
  Poller poller(&scheduler, reads.Fetch(), Slow());
  Sweeper sweeper(&scheduler, &poller, listing.Fetch(), PageSize(2));
  poller.Add(kU1);
  EXPECT_FALSE(sweeper.Round()) << "one watched user: one GET is as cheap as a page";
  EXPECT_EQ(listing.count(), 0);
  poller.Add(kU2);
  poller.Add(kU3);
  ASSERT_TRUE(sweeper.Round());  // count unknown: one page is cheaper than 3 GETs
  ASSERT_EQ(listing.count(), 1);
  EXPECT_EQ(listing.page(0), 0);
  EXPECT_FALSE(sweeper.Round()) << "a round is running";
  // 10 listed users, 2 per page: 5 pages for 3 watched users. The round
  // stops (4 pages left for 3 unseen users) and the next is not started.
  listing.Answer(0, Page({Listed("x1", "OK"), Listed("x2", "OK")}, 10));
  EXPECT_FALSE(sweeper.running());
  EXPECT_EQ(listing.count(), 1);
  EXPECT_FALSE(sweeper.Round());
  EXPECT_EQ(listing.count(), 1);
  // Six watched users: 5 pages are cheaper.
  for (const char* u :
       {"00000000-0000-0000-0000-0000000000b1", "00000000-0000-0000-0000-0000000000b2",
        "00000000-0000-0000-0000-0000000000b3"}) {
    poller.Add(u);
  }
  EXPECT_TRUE(sweeper.Round());
  EXPECT_EQ(listing.count(), 2);
}

// Watched users the listing holds are reported as polls with the listed
// credentials; the walk goes on page after page (never two at once) and
// ends at the last page.
TEST(SweeperTest, ReportsTheWatchedUsersItFindsPageAfterPage) {
  Scheduler scheduler;
  FakeReads reads;
  FakeListing listing;
  Reports reports;
  Poller poller(&scheduler, reads.Fetch(), Slow());
  poller.SetSink(reports.Sink());
  Sweeper sweeper(&scheduler, &poller, listing.Fetch(), PageSize(2));
  for (const char* u : {kU1, kU2, kU3, kU4, kU5}) poller.Add(u);
  ASSERT_TRUE(sweeper.Round());
  listing.Answer(0, Page({Listed(Upper(kU1), "OK"), Listed("x", "OK")}, 6));
  ASSERT_EQ(listing.count(), 2) << "3 pages for 5 users: the walk goes on";
  EXPECT_EQ(listing.page(1), 1);
  listing.Answer(1, Page({Listed(kU2, "UNAUTHENTICATED"), Listed(kU3, "OK")}, 6));
  ASSERT_EQ(listing.count(), 3);
  EXPECT_EQ(listing.page(2), 2);
  listing.Answer(2, Page({Listed(kU4, "OK"), Listed("y", "OK")}, 6));
  EXPECT_FALSE(sweeper.running());
  EXPECT_EQ(listing.count(), 3);
  EXPECT_EQ(reports.Of(kU1),
            (std::vector<std::string>{"own-" + std::string(kU1), "swept-" + Upper(kU1)}));
  EXPECT_EQ(reports.Of(kU2).back(), "swept-" + std::string(kU2));
  EXPECT_EQ(reports.Of(kU4).back(), "swept-" + std::string(kU4));
  EXPECT_EQ(reports.Of(kU5).size(), 1u) << "not listed: only its own read";
  absl::MutexLock lock(&reports.mu);
  int polls = 0;
  for (Source s : reports.sources) polls += s == Source::kPoll ? 1 : 0;
  EXPECT_EQ(polls, 4);
}

// Leaf's listing says "none" with the member null: the sweep reports the
// user absent (deleted credentials are noticed by sweeps too), unlike a
// user whose member is missing altogether.
TEST(SweeperTest, AMemberListedNullIsAbsent) {
  Scheduler scheduler;
  FakeReads reads;
  FakeListing listing;
  Reports reports;
  PollerOptions o = Slow();
  Poller poller(&scheduler, reads.Fetch(), o);
  poller.SetSink(reports.Sink());
  Sweeper sweeper(&scheduler, &poller, listing.Fetch(), PageSize(10));
  for (const char* u : {kU1, kU2}) poller.Add(u);
  ASSERT_TRUE(sweeper.Round());
  leaf::LeafUser none = Listed(kU1, std::nullopt);
  none.credentials_null = true;
  listing.Answer(0, Page({none, Listed(kU2, std::nullopt)}, 2));
  ASSERT_EQ(reports.Of(kU1).size(), 2u);
  EXPECT_EQ(reports.Of(kU1)[1], "-");  // absent
  EXPECT_EQ(reports.Of(kU2).size(), 1u) << "a missing member is not 'absent'";
}

// A user the sweep finds is not read on its own while sweeps keep finding
// it; a watched user the listing lacks, lists as null or lists without a
// status is read on its own on schedule.
TEST(SweeperTest, SweptUsersOwnReadsWaitOthersKeepThem) {
  Scheduler scheduler;
  FakeReads reads;
  FakeListing listing;
  Reports reports;
  PollerOptions o = Slow();
  o.interval = absl::Seconds(1);
  Poller poller(&scheduler, reads.Fetch(), o);
  poller.SetSink(reports.Sink());
  Sweeper sweeper(&scheduler, &poller, listing.Fetch(), PageSize(10));
  for (const char* u : {kU1, kU2, kU3, kU4}) poller.Add(u);
  ASSERT_TRUE(sweeper.Round());
  listing.Answer(0, Page({Listed(kU1, "OK"), Listed(kU2, std::nullopt), Listed(kU3, "")}, 3));
  EXPECT_EQ(reports.Of(kU1).size(), 2u);
  EXPECT_EQ(reports.Of(kU2).size(), 1u) << "null or missing credentials are not 'absent'";
  EXPECT_EQ(reports.Of(kU3).size(), 1u) << "no status: left to its own read";
  // Own reads are due 1 s after the first; the swept user's now waits two
  // sweep intervals (2 s) from the sweep.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  auto others_read = [&] {
    return reads.Reads(kU2) >= 2 && reads.Reads(kU3) >= 2 && reads.Reads(kU4) >= 2;
  };
  while (!others_read() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(2));
  EXPECT_TRUE(others_read()) << "users the sweep did not report lost their own reads";
  absl::SleepFor(absl::Milliseconds(200));  // without the hold it was due with them
  EXPECT_EQ(reads.Reads(kU1), 1) << "the swept user was read on its own anyway";
}

// A failed page ends the round: no more pages, the users not yet seen keep
// their own reads; the next round starts from page 0.
TEST(SweeperTest, AFailedPageEndsTheRound) {
  Scheduler scheduler;
  FakeReads reads;
  FakeListing listing;
  Reports reports;
  Poller poller(&scheduler, reads.Fetch(), Slow());
  poller.SetSink(reports.Sink());
  Sweeper sweeper(&scheduler, &poller, listing.Fetch(), PageSize(2));
  for (const char* u : {kU1, kU2, kU3, kU4, kU5}) poller.Add(u);
  ASSERT_TRUE(sweeper.Round());
  listing.Answer(0, Page({Listed(kU1, "OK"), Listed(kU2, "OK")}, 6));
  ASSERT_EQ(listing.count(), 2);
  listing.Answer(1, absl::UnavailableError("Leaf is down"));
  EXPECT_FALSE(sweeper.running());
  EXPECT_EQ(listing.count(), 2);
  EXPECT_EQ(reports.Of(kU3).size(), 1u);
  ASSERT_TRUE(sweeper.Round());
  EXPECT_EQ(listing.page(2), 0);
}

// The effective interval while sweeping is max(interval, pages / rate),
// reported to on_effective_interval; back to max(interval, W / rate) when
// sweeping stops paying.
TEST(SweeperTest, SweepRoundsArePacedByTheirPages) {
  Scheduler scheduler;
  FakeReads reads;
  FakeListing listing;
  absl::Mutex mu;
  std::vector<absl::Duration> told;
  PollerOptions o = Slow();
  o.interval = absl::Seconds(1);
  o.requests_per_minute = [] { return 6.0; };  // one request per 10 s
  o.on_effective_interval = [&](absl::Duration d) {
    absl::MutexLock lock(&mu);
    told.push_back(d);
  };
  Poller poller(&scheduler, reads.Fetch(), o);
  Sweeper sweeper(&scheduler, &poller, listing.Fetch(), PageSize(2));
  for (const char* u : {kU1, kU2, kU3, kU4, kU5}) poller.Add(u);
  EXPECT_EQ(poller.EffectiveInterval(), absl::Seconds(50));  // 5 GETs at 6/min
  ASSERT_TRUE(sweeper.Round());
  EXPECT_EQ(poller.EffectiveInterval(), absl::Seconds(10));  // 1 page (count unknown)
  listing.Answer(0, Page({Listed(kU1, "OK"), Listed(kU2, "OK")}, 6));
  ASSERT_EQ(listing.count(), 2);
  EXPECT_EQ(poller.EffectiveInterval(), absl::Seconds(30));  // 3 pages
  EXPECT_EQ(poller.SweepInterval(), absl::Seconds(30));
  listing.Answer(1, Page({Listed(kU3, "OK"), Listed("x", "OK")}, 6));
  ASSERT_EQ(listing.count(), 3);
  listing.Answer(2, Page({Listed(kU4, "OK"), Listed(kU5, "OK")}, 6));
  EXPECT_FALSE(sweeper.running());
  poller.Remove(kU4);
  poller.Remove(kU5);  // 3 watched users, 3 pages: per-user reads again
  EXPECT_FALSE(sweeper.Round());
  EXPECT_EQ(poller.EffectiveInterval(), absl::Seconds(30));  // 3 GETs at 6/min
  poller.Remove(kU3);
  EXPECT_EQ(poller.EffectiveInterval(), absl::Seconds(20));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(told.front(), absl::Seconds(10));  // the first Add: 1 user at 6/min
  EXPECT_EQ(told.back(), absl::Seconds(20));
}

// Without X-Total-Count the walk learns the listing's size: it never costs
// as many pages as there are watched users, and once the listing is known
// to be too large no round starts.
TEST(SweeperTest, WithoutACountTheWalkStopsBeforeCostingAGetPerUser) {
  Scheduler scheduler;
  FakeReads reads;
  FakeListing listing;
  Poller poller(&scheduler, reads.Fetch(), Slow());
  Sweeper sweeper(&scheduler, &poller, listing.Fetch(), PageSize(1));
  for (const char* u : {kU1, kU2, kU3, kU4}) poller.Add(u);
  ASSERT_TRUE(sweeper.Round());
  for (int i = 0; i < 10 && sweeper.running(); ++i) {
    listing.Answer(i, Page({Listed("x" + std::to_string(i), "OK")}, std::nullopt));
  }
  EXPECT_FALSE(sweeper.running());
  EXPECT_LT(listing.count(), 4);
  EXPECT_FALSE(sweeper.Round()) << "the listing holds at least as many pages as watched users";
  // A short page ends the walk and tells the size.
  Sweeper other(&scheduler, &poller, listing.Fetch(), PageSize(10));
  ASSERT_TRUE(other.Round());
  const int at = listing.count() - 1;
  listing.Answer(at, Page({Listed(kU1, "OK")}, std::nullopt));
  EXPECT_FALSE(other.running());
  EXPECT_TRUE(other.Round());
}

// Started, the sweeper decides by itself and keeps rounds going.
TEST(SweeperTest, StartedItSweepsOnItsOwn) {
  Scheduler scheduler;
  FakeReads reads;
  FakeListing listing;
  PollerOptions o = Slow();
  o.interval = absl::Milliseconds(20);
  Poller poller(&scheduler, reads.Fetch(), o);
  Sweeper sweeper(&scheduler, &poller, listing.Fetch(), PageSize(10));
  for (const char* u : {kU1, kU2}) poller.Add(u);
  sweeper.Start();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (listing.count() < 1 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(2));
  ASSERT_EQ(listing.count(), 1);
  listing.Answer(0, Page({Listed(kU1, "OK"), Listed(kU2, "OK")}, 2));
  while (listing.count() < 2 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(2));
  EXPECT_EQ(listing.count(), 2) << "the next round did not come";
  EXPECT_EQ(listing.page(1), 0);
}

}  // namespace
}  // namespace leafsvc::watch
