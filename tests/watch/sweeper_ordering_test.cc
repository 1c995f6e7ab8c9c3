// The sweeper never reports out of order: not a removed user, not a page
// older than a user's own read, and a page answers for reads still waiting
// from before it; destruction with a page in flight.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "server/watch/poller.h"
#include "server/watch/sweeper.h"
#include "tests/watch/observations.h"
#include "tests/watch/sweeper_fakes.h"

namespace leafsvc::watch {
namespace {

TEST(SweeperTest, ARemovedUserIsNeverReported) {
  Scheduler scheduler;
  FakeReads reads;
  FakeListing listing;
  Reports reports;
  Poller poller(&scheduler, reads.Fetch(), Slow());
  poller.SetSink(reports.Sink());
  Sweeper sweeper(&scheduler, &poller, listing.Fetch(), PageSize(10));
  for (const char* u : {kU1, kU2, kU3}) poller.Add(u);
  ASSERT_TRUE(sweeper.Round());
  poller.Remove(kU1);
  listing.Answer(0, Page({Listed(kU1, "OK"), Listed(kU2, "OK")}, 2));
  EXPECT_EQ(reports.Of(kU1).size(), 1u) << "reported after Remove returned";
  EXPECT_EQ(reports.Of(kU2).size(), 2u);
}

// A page requested before a user's own read began or ended may be older
// than that read's answer: it is not reported after it. A read that ended
// before the page was requested does not hold the page back.
TEST(SweeperTest, AStaleSweepNeverOverwritesANewerOwnRead) {
  Scheduler scheduler;
  FakeReads reads;
  FakeListing listing;
  Reports reports;
  Poller poller(&scheduler, reads.Fetch(), Slow());
  poller.SetSink(reports.Sink());
  Sweeper sweeper(&scheduler, &poller, listing.Fetch(), PageSize(10));
  for (const char* u : {kU1, kU2, kU3, kU4}) poller.Add(u);  // read (inline) before the page
  {
    absl::MutexLock lock(&reads.mu);
    reads.hold = true;
  }
  // kU3's read begins before the page is requested and ends after.
  ASSERT_TRUE(poller.PollNow(kU3, Source::kAlert));
  ASSERT_TRUE(sweeper.Round());
  ASSERT_TRUE(poller.PollNow(kU1, Source::kAlert));  // begins after: held (in flight)
  ASSERT_TRUE(poller.PollNow(kU2, Source::kAlert));  // begins and ends after
  std::vector<std::function<void(Observation)>> held;
  {
    absl::MutexLock lock(&reads.mu);
    held = std::move(reads.held);
    reads.held.clear();
  }
  ASSERT_EQ(held.size(), 3u);
  held[0](Present("newer-u3", "OK"));
  held[2](Present("newer-u2", "OK"));
  listing.Answer(
      0, Page({Listed(kU1, "OK"), Listed(kU2, "OK"), Listed(kU3, "OK"), Listed(kU4, "OK")}, 4));
  held[1](Present("newer-u1", "OK"));
  EXPECT_EQ(reports.Of(kU1).back(), "newer-u1");
  EXPECT_EQ(reports.Of(kU2).back(), "newer-u2");
  EXPECT_EQ(reports.Of(kU3).back(), "newer-u3");
  EXPECT_EQ(reports.Of(kU4).back(), "swept-" + std::string(kU4))
      << "a read that ended before the page was requested is older than it";
  for (const char* u : {kU1, kU2, kU3}) {
    for (const std::string& id : reports.Of(u)) EXPECT_NE(id, "swept-" + std::string(u)) << u;
  }
}

// Many users' first reads wait in the budget; a page requested after they
// began answers for them: each waiting read is cancelled and its answer, if
// it still comes, dropped, so the page is reported, once.
TEST(SweeperTest, APageAnswersForOwnReadsStillWaitingFromBeforeIt) {
  Scheduler scheduler;
  FakeReads reads;
  FakeListing listing;
  Reports reports;
  {
    absl::MutexLock lock(&reads.mu);
    reads.hold = true;  // first reads queued (never answered by themselves)
  }
  Poller poller(&scheduler, reads.Fetch(), Slow());
  poller.SetSink(reports.Sink());
  Sweeper sweeper(&scheduler, &poller, listing.Fetch(), PageSize(10));
  for (const char* u : {kU1, kU2, kU3}) poller.Add(u);
  ASSERT_TRUE(sweeper.Round());
  listing.Answer(0, Page({Listed(kU1, "OK"), Listed(kU2, "OK")}, 2));
  EXPECT_EQ(reports.Of(kU1), std::vector<std::string>{"swept-" + std::string(kU1)});
  EXPECT_EQ(reports.Of(kU2), std::vector<std::string>{"swept-" + std::string(kU2)});
  EXPECT_TRUE(reports.Of(kU3).empty()) << "not listed: still its own read";
  EXPECT_EQ(reads.cancels.load(), 2);
  // The superseded reads' answers, should they come anyway, are dropped.
  std::vector<std::function<void(Observation)>> held;
  {
    absl::MutexLock lock(&reads.mu);
    held = std::move(reads.held);
  }
  for (auto& done : held) done(Present("late", "OK"));
  EXPECT_EQ(reports.Of(kU1).size(), 1u);
  EXPECT_EQ(reports.Of(kU2).size(), 1u);
  EXPECT_EQ(reports.Of(kU3), std::vector<std::string>{"late"});
}

TEST(SweeperTest, DestructionCancelsThePageInFlightAndIgnoresItsAnswer) {
  Scheduler scheduler;
  FakeReads reads;
  FakeListing listing;
  Reports reports;
  Poller poller(&scheduler, reads.Fetch(), Slow());
  poller.SetSink(reports.Sink());
  auto sweeper = std::make_unique<Sweeper>(&scheduler, &poller, listing.Fetch(), PageSize(10));
  for (const char* u : {kU1, kU2}) poller.Add(u);
  ASSERT_TRUE(sweeper->Round());
  sweeper.reset();
  EXPECT_EQ(listing.cancels.load(), 1);
  listing.Answer(0, Page({Listed(kU1, "OK")}, 1));
  EXPECT_EQ(reports.Of(kU1).size(), 1u);
}

}  // namespace
}  // namespace leafsvc::watch
