#include "server/watch/poller.h"

#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "tests/watch/observations.h"
#include "tests/watch/poller_fakes.h"

namespace leafsvc::watch {
namespace {

// Long waits end on the 20 ms grid, never early and never a step late, so
// that users due within one step share one wake-up; short waits are exact.
TEST(PollerTest, LongTimersEndOnTheGridShortOnesExactly) {
  const absl::Time now = absl::FromUnixMillis(1'700'000'000'003);
  EXPECT_EQ(Poller::TimerTime(now, absl::Milliseconds(200)), now + absl::Milliseconds(200));
  EXPECT_EQ(Poller::TimerTime(now, absl::Milliseconds(999)), now + absl::Milliseconds(999));
  // 1,700,000,001,003 ms -> 1,700,000,001,020 ms.
  EXPECT_EQ(Poller::TimerTime(now, absl::Seconds(1)), absl::FromUnixMillis(1'700'000'001'020));
  std::mt19937 rng(7);
  for (int i = 0; i < 1000; ++i) {
    const absl::Duration delay =
        absl::Seconds(1) +
        absl::Microseconds(std::uniform_int_distribution<int>(0, 60'000'000)(rng));
    const absl::Time at = Poller::TimerTime(now, delay);
    EXPECT_GE(at, now + delay);
    EXPECT_LT(at, now + delay + Poller::kTimerGrid);
    EXPECT_EQ(absl::ToUnixNanos(at) % absl::ToInt64Nanoseconds(Poller::kTimerGrid), 0);
  }
  // Two users due 5 ms apart within one step fire at the same time.
  EXPECT_EQ(Poller::TimerTime(now, absl::Milliseconds(30'001)),
            Poller::TimerTime(now, absl::Milliseconds(30'006)));
}

TEST(PollerTest, NextDelayAddsJitterAndBacksOffToTheCap) {
  PollerOptions o;
  o.interval = absl::Seconds(10);
  o.jitter = absl::Seconds(4);
  o.max_backoff = absl::Seconds(60);
  EXPECT_EQ(Poller::NextDelay(o, 0, 0.0), absl::Seconds(10));
  EXPECT_EQ(Poller::NextDelay(o, 0, 0.5), absl::Seconds(12));
  EXPECT_EQ(Poller::NextDelay(o, 1, 0.0), absl::Seconds(10));
  EXPECT_EQ(Poller::NextDelay(o, 2, 0.0), absl::Seconds(20));
  EXPECT_EQ(Poller::NextDelay(o, 3, 0.0), absl::Seconds(40));
  EXPECT_EQ(Poller::NextDelay(o, 4, 0.0), absl::Seconds(60));
  EXPECT_EQ(Poller::NextDelay(o, 100, 0.0), absl::Seconds(60));
}

TEST(PollerTest, ReadsAtOnceThenOnScheduleAndStopsOnRemove) {
  Scheduler scheduler;
  FakeLeaf leaf;
  Poller poller(&scheduler, leaf.Fetch(), Fast());
  std::atomic<int> reported{0};
  std::atomic<int> initial{0};
  poller.SetSink([&](const std::string&, const Observation&, Source s) {
    reported++;
    if (s == Source::kInitial) initial++;
  });
  poller.Add("u1");
  poller.Add("u1");  // no second schedule
  EXPECT_EQ(leaf.Reads("u1"), 1);
  absl::SleepFor(absl::Milliseconds(280));
  const int reads = leaf.Reads("u1");
  EXPECT_GE(reads, 4);
  EXPECT_LE(reads, 7);
  EXPECT_EQ(initial.load(), 1);
  poller.Remove("u1");
  EXPECT_EQ(poller.size(), 0);
  absl::SleepFor(absl::Milliseconds(150));
  EXPECT_EQ(leaf.Reads("u1"), reads);
}

// Every timer lives in one queue woken by one scheduler task at a time:
// users removed while their timers wait (and some added again, a new
// generation under the same name) are never read for the old timer, the
// others keep their schedule. Seeded, the seed printed.
TEST(PollerTest, TimersOfManyUsersSurviveRemovalsAndReAdds) {
  const unsigned seed = std::random_device{}();
  std::cout << "seed " << seed << "\n";
  std::mt19937 rng(seed);
  Scheduler scheduler;
  FakeLeaf leaf;
  Poller poller(&scheduler, leaf.Fetch(), Fast());
  constexpr int kUsers = 300;
  std::vector<std::string> users;
  for (int i = 0; i < kUsers; ++i) users.push_back("user-" + std::to_string(i));
  for (const std::string& u : users) poller.Add(u);
  absl::SleepFor(absl::Milliseconds(30));
  std::vector<std::string> removed, kept, readded;
  for (const std::string& u : users) {
    switch (rng() % 3) {
      case 0:
        poller.Remove(u);
        removed.push_back(u);
        break;
      case 1:
        poller.Remove(u);
        poller.Add(u);
        readded.push_back(u);
        break;
      default:
        kept.push_back(u);
    }
  }
  std::map<std::string, int> at_removal;
  for (const std::string& u : removed) at_removal[u] = leaf.Reads(u);
  absl::SleepFor(absl::Milliseconds(300));
  for (const std::string& u : removed) EXPECT_EQ(leaf.Reads(u), at_removal[u]) << u;
  for (const std::string& u : kept) EXPECT_GE(leaf.Reads(u), 4) << u;
  for (const std::string& u : readded) EXPECT_GE(leaf.Reads(u), 4) << u;
  EXPECT_EQ(poller.size(), static_cast<int>(kept.size() + readded.size()));
}

TEST(PollerTest, BacksOffWhileReadsFail) {
  Scheduler scheduler;
  FakeLeaf leaf;
  leaf.fail = true;
  Poller poller(&scheduler, leaf.Fetch(), Fast());
  poller.Add("u1");
  absl::SleepFor(absl::Milliseconds(600));
  // Healthy: ~12 reads in 600 ms; failing: at 0, 50, 150, 350 ms (then 750).
  EXPECT_LE(leaf.Reads("u1"), 5);
  EXPECT_GE(leaf.Reads("u1"), 3);
}

TEST(PollerTest, PollNowReadsAtOnceAndOnceMoreAfterAScheduledReadInFlight) {
  Scheduler scheduler;
  FakeLeaf leaf;
  PollerOptions slow = Fast();
  slow.interval = absl::Hours(1);
  slow.min_prompt_interval = absl::ZeroDuration();
  Poller poller(&scheduler, leaf.Fetch(), slow);
  std::vector<Source> sources;
  absl::Mutex mu;
  poller.SetSink([&](const std::string&, const Observation&, Source s) {
    absl::MutexLock lock(&mu);
    sources.push_back(s);
  });
  {
    absl::MutexLock lock(&leaf.mu);
    leaf.hold = true;
  }
  poller.Add("u1");                                    // the initial read stays in flight
  EXPECT_TRUE(poller.PollNow("u1", Source::kAlert));   // read once more after it
  EXPECT_FALSE(poller.PollNow("u1", Source::kAlert));  // already coming
  EXPECT_FALSE(poller.PollNow("unknown", Source::kAlert));
  EXPECT_EQ(leaf.Reads("u1"), 1);
  std::function<void(Observation)> done;
  {
    absl::MutexLock lock(&leaf.mu);
    done = std::move(leaf.held.back());
  }
  done(Absent());  // the prompted read starts now (and is held)
  EXPECT_EQ(leaf.Reads("u1"), 2);
  // A prompted read in flight: more alerts cost nothing.
  EXPECT_FALSE(poller.PollNow("u1", Source::kAlert));
  {
    absl::MutexLock lock(&leaf.mu);
    leaf.hold = false;
    done = std::move(leaf.held.back());
  }
  done(Absent());
  EXPECT_EQ(leaf.Reads("u1"), 2);
  EXPECT_TRUE(poller.PollNow("u1", Source::kAlert));  // nothing pending: reads at once
  EXPECT_EQ(leaf.Reads("u1"), 3);
  absl::MutexLock lock(&mu);
  EXPECT_EQ(sources, (std::vector<Source>{Source::kInitial, Source::kAlert, Source::kAlert}));
}

// A fixed clock for the spacing of prompts (the scheduler runs on real time:
// a prompted read due in `d` by this clock is armed `d` from now).
struct FakeClock {
  absl::Mutex mu;
  absl::Time now = absl::FromUnixSeconds(1700000000);
  std::function<absl::Time()> Fn() {
    return [this] {
      absl::MutexLock lock(&mu);
      return now;
    };
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu);
    now += d;
  }
};

// Replays of one alert are a doorbell: 3,000 prompts inside the spacing cost
// one read, the next 3,000 one more. Before the fix each prompt read Leaf at
// once (3,000 reads; the issue measured 1,963 in 20 s through the stack).
TEST(PollerTest, ThousandsOfPromptsCostOneSpacedReadEach) {
  Scheduler scheduler;
  FakeLeaf leaf;
  FakeClock clock;
  PollerOptions o = Fast();
  o.interval = absl::Hours(1);
  o.min_prompt_interval = absl::Seconds(5);
  o.now = clock.Fn();
  Poller poller(&scheduler, leaf.Fetch(), o);
  std::vector<Source> sources;
  absl::Mutex mu;
  poller.SetSink([&](const std::string&, const Observation&, Source s) {
    absl::MutexLock lock(&mu);
    sources.push_back(s);
  });
  poller.Add("u1");
  ASSERT_EQ(leaf.Reads("u1"), 1);
  clock.Advance(absl::Milliseconds(4950));  // the prompted read is due in 50 ms
  int prompted = 0;
  for (int i = 0; i < 3000; ++i) prompted += poller.PollNow("u1", Source::kAlert) ? 1 : 0;
  EXPECT_EQ(prompted, 1);
  EXPECT_EQ(leaf.Reads("u1"), 1) << "a prompt inside the spacing read at once";
  ASSERT_TRUE(WaitFor([&] { return leaf.Reads("u1") == 2; }));
  // The next spaced read is 5 s (of the fake clock, so of real time) away.
  prompted = 0;
  for (int i = 0; i < 3000; ++i) prompted += poller.PollNow("u1", Source::kAlert) ? 1 : 0;
  EXPECT_EQ(prompted, 1);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(leaf.Reads("u1"), 2);
  absl::MutexLock lock(&mu);
  EXPECT_EQ(sources, (std::vector<Source>{Source::kInitial, Source::kAlert}));
}

TEST(PollerTest, APromptLongAfterTheLastReadReadsAtOnce) {
  Scheduler scheduler;
  FakeLeaf leaf;
  FakeClock clock;
  PollerOptions o = Fast();
  o.interval = absl::Hours(1);
  o.min_prompt_interval = absl::Seconds(5);
  o.now = clock.Fn();
  Poller poller(&scheduler, leaf.Fetch(), o);
  poller.Add("u1");
  clock.Advance(absl::Seconds(5));
  EXPECT_TRUE(poller.PollNow("u1", Source::kAlert));
  EXPECT_EQ(leaf.Reads("u1"), 2);  // inline: the fake Leaf answers at once
}

// While reads of a user fail, its backoff stands: prompts (an alert storm
// during a Leaf outage) read nothing. Before the fix every prompt read Leaf.
TEST(PollerTest, PromptsNeverBypassTheBackoff) {
  Scheduler scheduler;
  FakeLeaf leaf;
  leaf.fail = true;
  FakeClock clock;
  PollerOptions o = Fast();
  o.interval = absl::Hours(1);
  o.min_prompt_interval = absl::ZeroDuration();
  o.now = clock.Fn();
  Poller poller(&scheduler, leaf.Fetch(), o);
  poller.Add("u1");
  ASSERT_EQ(leaf.Reads("u1"), 1);
  clock.Advance(absl::Minutes(10));
  int prompted = 0;
  for (int i = 0; i < 3000; ++i) prompted += poller.PollNow("u1", Source::kAlert) ? 1 : 0;
  EXPECT_EQ(prompted, 0);
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(leaf.Reads("u1"), 1);
}

// A connect link attached new credentials: the user is read at once, inside
// the alerts' spacing, and the read says it came from the link; alerts
// meanwhile coalesce into nothing more.
TEST(PollerTest, AConnectPromptReadsAtOnceInsideTheAlertSpacing) {
  Scheduler scheduler;
  FakeLeaf leaf;
  FakeClock clock;
  PollerOptions o = Fast();
  o.interval = absl::Hours(1);
  o.min_prompt_interval = absl::Seconds(5);
  o.now = clock.Fn();
  Poller poller(&scheduler, leaf.Fetch(), o);
  std::vector<Source> sources;
  absl::Mutex mu;
  poller.SetSink([&](const std::string&, const Observation&, Source s) {
    absl::MutexLock lock(&mu);
    sources.push_back(s);
  });
  poller.Add("u1");
  ASSERT_EQ(leaf.Reads("u1"), 1);
  clock.Advance(absl::Seconds(1));  // alerts would wait 4 s more
  EXPECT_TRUE(poller.PollNow("u1", Source::kConnect));
  EXPECT_EQ(leaf.Reads("u1"), 2) << "a connect prompt waited for the alerts' spacing";
  absl::MutexLock lock(&mu);
  EXPECT_EQ(sources, (std::vector<Source>{Source::kInitial, Source::kConnect}));
}

// An alert's prompted read is waiting for its spacing when the link
// completes: that one read happens at once and reports the link.
TEST(PollerTest, AConnectPromptTakesOverAPendingAlertPrompt) {
  Scheduler scheduler;
  FakeLeaf leaf;
  FakeClock clock;
  PollerOptions o = Fast();
  o.interval = absl::Hours(1);
  o.min_prompt_interval = absl::Seconds(5);
  o.now = clock.Fn();
  Poller poller(&scheduler, leaf.Fetch(), o);
  std::vector<Source> sources;
  absl::Mutex mu;
  poller.SetSink([&](const std::string&, const Observation&, Source s) {
    absl::MutexLock lock(&mu);
    sources.push_back(s);
  });
  poller.Add("u1");
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(poller.PollNow("u1", Source::kAlert));  // pending, due in 4 s
  EXPECT_EQ(leaf.Reads("u1"), 1);
  EXPECT_TRUE(poller.PollNow("u1", Source::kConnect));
  EXPECT_EQ(leaf.Reads("u1"), 2) << "the connect prompt waited for the alert's spacing";
  clock.Advance(absl::Seconds(4));
  ASSERT_TRUE(WaitFor([&] { return leaf.Reads("u1") == 2; }));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(leaf.Reads("u1"), 2) << "one prompted read, not two";
  absl::MutexLock lock(&mu);
  EXPECT_EQ(sources, (std::vector<Source>{Source::kInitial, Source::kConnect}));
}

// Reads failing back off against alerts, but new credentials are worth one
// read: the grower just re-authorized.
TEST(PollerTest, AConnectPromptReadsEvenWhileReadsFail) {
  Scheduler scheduler;
  FakeLeaf leaf;
  leaf.fail = true;
  FakeClock clock;
  PollerOptions o = Fast();
  o.interval = absl::Hours(1);
  o.min_prompt_interval = absl::ZeroDuration();
  o.now = clock.Fn();
  Poller poller(&scheduler, leaf.Fetch(), o);
  poller.Add("u1");
  ASSERT_EQ(leaf.Reads("u1"), 1);
  EXPECT_FALSE(poller.PollNow("u1", Source::kAlert));
  EXPECT_TRUE(poller.PollNow("u1", Source::kConnect));
  EXPECT_EQ(leaf.Reads("u1"), 2);
}

TEST(PollerTest, RemoveCancelsTheReadInFlightAndDropsItsOutcome) {
  Scheduler scheduler;
  FakeLeaf leaf;
  leaf.hold = true;
  Poller poller(&scheduler, leaf.Fetch(), Fast());
  std::atomic<int> reported{0};
  poller.SetSink([&](const std::string&, const Observation&, Source) { reported++; });
  poller.Add("u1");
  poller.Remove("u1");
  EXPECT_EQ(leaf.cancels.load(), 1);
  Observation ok;
  ok.kind = Observation::Kind::kAbsent;
  std::function<void(Observation)> done;
  {
    absl::MutexLock lock(&leaf.mu);
    done = std::move(leaf.held.back());
  }
  done(ok);
  EXPECT_EQ(reported.load(), 0);
}

// A read's completion may come after the poller is gone (a large body is
// parsed on the completion pool thread): it must do nothing. Before the fix
// `done` called Finished on the freed poller (ASan: heap-use-after-free in
// Poller::Finished; without ASan it locks a freed mutex, usually silently).
TEST(PollerTest, ACompletionAfterThePollerIsGoneDoesNothing) {
  Scheduler scheduler;
  FakeLeaf leaf;
  leaf.hold = true;
  std::atomic<int> reported{0};
  auto poller = std::make_unique<Poller>(&scheduler, leaf.Fetch(), Fast());
  poller->SetSink([&](const std::string&, const Observation&, Source) { reported++; });
  poller->Add("u1");
  std::function<void(Observation)> done;
  {
    absl::MutexLock lock(&leaf.mu);
    done = std::move(leaf.held.back());
  }
  poller.reset();
  std::thread completion([&] { done(Absent()); });
  completion.join();
  EXPECT_EQ(reported.load(), 0);
}

// The destructor waits for a completion already running in the poller.
// Before the fix it returned while the completion was still inside (in the
// sink here), which then touched the freed poller (ASan:
// heap-use-after-free; `destroyed` was true while the sink still ran).
TEST(PollerTest, DestructionWaitsForACompletionRunningOnAnotherThread) {
  Scheduler scheduler;
  FakeLeaf leaf;
  leaf.hold = true;
  absl::Notification in_sink, release;
  std::atomic<bool> destroyed{false};
  std::atomic<bool> destroyed_while_in_sink{false};
  auto poller = std::make_unique<Poller>(&scheduler, leaf.Fetch(), Fast());
  poller->SetSink([&](const std::string&, const Observation&, Source) {
    in_sink.Notify();
    release.WaitForNotification();
    if (destroyed.load()) destroyed_while_in_sink = true;
  });
  poller->Add("u1");
  std::function<void(Observation)> done;
  {
    absl::MutexLock lock(&leaf.mu);
    done = std::move(leaf.held.back());
  }
  std::thread completion([&] { done(Absent()); });
  in_sink.WaitForNotification();
  std::thread destroyer([&] {
    poller.reset();
    destroyed = true;
  });
  absl::SleepFor(absl::Milliseconds(100));  // a destructor that does not wait returns now
  EXPECT_FALSE(destroyed.load());
  release.Notify();
  completion.join();
  destroyer.join();
  EXPECT_TRUE(destroyed.load());
  EXPECT_FALSE(destroyed_while_in_sink.load());
}

}  // namespace
}  // namespace leafsvc::watch
