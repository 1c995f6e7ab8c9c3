#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"
#include "server/watch/poller.h"
#include "tests/watch/observations.h"
#include "tests/watch/poller_fakes.h"

// The poller's pacing within Leaf's rate limit and what sweeps tell it
// (docs/watch.md, "Polls within Leaf's rate limit").
namespace leafsvc::watch {
namespace {

TEST(PollerTest, PacedIntervalIsUsersOverTheRateWithTheIntervalAsFloor) {
  const absl::Duration interval = absl::Seconds(30);
  // The figure: 10,000 users at 1,000/min with half for polls.
  EXPECT_EQ(Poller::PacedInterval(interval, 1000 * kPollBudgetShare, 10000), absl::Minutes(20));
  EXPECT_EQ(Poller::PacedInterval(interval, 500, 1000), absl::Minutes(2));
  EXPECT_EQ(Poller::PacedInterval(interval, 500, 100), interval);  // 12 s < 30 s
  EXPECT_EQ(Poller::PacedInterval(interval, 0, 10000), interval);  // unlimited
  EXPECT_EQ(Poller::PacedInterval(interval, -1, 10000), interval);
}

TEST(PollerTest, JitterScalesWithThePacingAndBackoffNeverUndercutsIt) {
  PollerOptions o;
  o.interval = absl::Seconds(30);
  o.jitter = absl::Seconds(5);
  o.max_backoff = absl::Minutes(5);
  const absl::Duration paced = absl::Minutes(20);  // 40 intervals
  EXPECT_EQ(Poller::NextDelay(o, 0, 0.0, paced), paced);
  EXPECT_EQ(Poller::NextDelay(o, 0, 0.5, paced), paced + absl::Seconds(100));
  // Failing: interval, 2x ... up to max_backoff, but not sooner than paced.
  EXPECT_EQ(Poller::NextDelay(o, 1, 0.0, paced), paced);
  EXPECT_EQ(Poller::NextDelay(o, 5, 0.0, paced), paced);
  EXPECT_EQ(Poller::NextDelay(o, 3, 0.0, absl::Seconds(60)), absl::Minutes(2));
  // Never below the interval.
  EXPECT_EQ(Poller::NextDelay(o, 0, 0.0, absl::Seconds(1)), absl::Seconds(30));
}

struct ReadTimes {
  absl::Mutex mu;
  std::map<std::string, std::vector<absl::Time>> at;
  Poller::Fetch Fetch() {
    return [this](const std::string& user, Source, std::function<void(Observation)> done) {
      {
        absl::MutexLock lock(&mu);
        at[user].push_back(absl::Now());
      }
      done(Present("c", "OK"));
      return std::make_shared<NoopCall>(&cancels);
    };
  }
  int Reads(const std::string& user) {
    absl::MutexLock lock(&mu);
    return static_cast<int>(at[user].size());
  }
  std::atomic<int> cancels{0};
};

struct Told {
  absl::Mutex mu;
  std::vector<absl::Duration> values;
  std::function<void(absl::Duration)> Fn() {
    return [this](absl::Duration d) {
      absl::MutexLock lock(&mu);
      values.push_back(d);
    };
  }
  absl::Duration last() {
    absl::MutexLock lock(&mu);
    return values.empty() ? absl::ZeroDuration() : values.back();
  }
};

// W users at `rate` requests a minute: each is read every W / rate, not
// every interval (before: every 10 ms here, ~30 reads each in 300 ms).
TEST(PollerTest, ScheduledReadsArePacedToTheRate) {
  Scheduler scheduler;
  ReadTimes leaf;
  Told told;
  PollerOptions o = Fast();
  o.interval = absl::Milliseconds(10);
  o.requests_per_minute = [] { return 600.0; };  // 10 a second
  o.on_effective_interval = told.Fn();
  Poller poller(&scheduler, leaf.Fetch(), o);
  const std::vector<std::string> users = {"u1", "u2", "u3", "u4", "u5"};
  for (const std::string& u : users) poller.Add(u);
  EXPECT_EQ(told.last(), absl::Milliseconds(500));  // 5 users / 10 per s
  EXPECT_EQ(poller.EffectiveInterval(), absl::Milliseconds(500));
  {
    absl::MutexLock lock(&told.mu);
    EXPECT_EQ(told.values.front(), absl::Milliseconds(100));  // 1 user
  }
  absl::SleepFor(absl::Milliseconds(300));
  for (const std::string& u : users) EXPECT_EQ(leaf.Reads(u), 1) << u;
  ASSERT_TRUE(WaitFor([&] { return leaf.Reads("u5") >= 2; }));
  absl::MutexLock lock(&leaf.mu);
  for (const std::string& u : users) {
    const std::vector<absl::Time>& at = leaf.at[u];
    ASSERT_GE(at.size(), 1u);
    if (at.size() >= 2) {
      EXPECT_GE(at[1] - at[0], absl::Milliseconds(495)) << u;
    }
  }
}

// A rate high enough for every user leaves the interval as it is.
TEST(PollerTest, TheIntervalIsTheFloor) {
  Scheduler scheduler;
  ReadTimes leaf;
  Told told;
  PollerOptions o = Fast();
  o.interval = absl::Milliseconds(200);
  o.requests_per_minute = [] { return 1e9; };
  o.on_effective_interval = told.Fn();
  Poller poller(&scheduler, leaf.Fetch(), o);
  poller.Add("u1");
  poller.Add("u2");
  EXPECT_EQ(told.last(), absl::Milliseconds(200));
  ASSERT_TRUE(WaitFor([&] { return leaf.Reads("u1") >= 3; }));
  absl::MutexLock lock(&leaf.mu);
  const std::vector<absl::Time>& at = leaf.at["u1"];
  EXPECT_GE(at[1] - at[0], absl::Milliseconds(195));
  EXPECT_GE(at[2] - at[1], absl::Milliseconds(195));
}

// The budget's rate drops after Leaf's 429s: the next schedule uses it.
TEST(PollerTest, ARateDropLengthensTheInterval) {
  Scheduler scheduler;
  ReadTimes leaf;
  Told told;
  std::atomic<double> rate{1200.0};  // 20 a second: 2 users every 100 ms
  PollerOptions o = Fast();
  o.interval = absl::Milliseconds(10);
  o.requests_per_minute = [&] { return rate.load(); };
  o.on_effective_interval = told.Fn();
  Poller poller(&scheduler, leaf.Fetch(), o);
  poller.Add("u1");
  poller.Add("u2");
  EXPECT_EQ(told.last(), absl::Milliseconds(100));
  ASSERT_TRUE(WaitFor([&] { return leaf.Reads("u1") >= 3; }));
  rate = 12.0;  // 2 users every 10 s
  // Told at the next schedule (within 100 ms).
  ASSERT_TRUE(WaitFor([&] { return told.last() == absl::Seconds(10); }));
  ASSERT_TRUE(WaitFor([&] { return leaf.Reads("u2") >= 3; }));
  const int u1 = leaf.Reads("u1");
  const int u2 = leaf.Reads("u2");
  absl::SleepFor(absl::Milliseconds(500));  // five reads each at the old rate
  EXPECT_LE(leaf.Reads("u1"), u1 + 1);
  EXPECT_LE(leaf.Reads("u2"), u2 + 1);
}

// Alerts are not paced: a prompted read goes at once however slow polls are.
TEST(PollerTest, PromptedReadsAreNotPaced) {
  Scheduler scheduler;
  FakeLeaf leaf;
  PollerOptions o = Fast();
  o.interval = absl::Seconds(1);
  o.min_prompt_interval = absl::ZeroDuration();
  o.requests_per_minute = [] { return 1.0; };  // polls: once every 3 minutes
  Poller poller(&scheduler, leaf.Fetch(), o);
  for (const char* u : {"u1", "u2", "u3"}) poller.Add(u);
  EXPECT_EQ(poller.EffectiveInterval(), absl::Minutes(3));
  EXPECT_TRUE(poller.PollNow("u2", Source::kAlert));
  EXPECT_EQ(leaf.Reads("u2"), 2);
  EXPECT_TRUE(poller.PollNow("u2", Source::kAlert));
  EXPECT_EQ(leaf.Reads("u2"), 3);
}

// The fetch learns why it reads (its class in the Leaf budget).
TEST(PollerTest, TheFetchIsToldTheSource) {
  Scheduler scheduler;
  FakeLeaf leaf;
  PollerOptions o = Fast();
  o.min_prompt_interval = absl::ZeroDuration();
  Poller poller(&scheduler, leaf.Fetch(), o);
  poller.Add("u1");
  EXPECT_TRUE(poller.PollNow("u1", Source::kAlert));
  ASSERT_TRUE(WaitFor([&] { return leaf.Reads("u1") >= 3; }));
  poller.Remove("u1");
  absl::MutexLock lock(&leaf.mu);
  ASSERT_GE(leaf.sources.size(), 3u);
  EXPECT_EQ(leaf.sources[0], Source::kInitial);
  EXPECT_EQ(leaf.sources[1], Source::kAlert);
  EXPECT_EQ(leaf.sources[2], Source::kPoll);
}

// A sweep's observation is reported as a poll and counts as the user's
// read; unknown users and users read since are not reported.
TEST(PollerTest, ObservedReportsAsAPollUnlessANewerReadExists) {
  Scheduler scheduler;
  FakeLeaf leaf;
  PollerOptions o = Fast();
  o.interval = absl::Hours(1);
  o.min_prompt_interval = absl::ZeroDuration();
  Poller poller(&scheduler, leaf.Fetch(), o);
  std::vector<std::pair<std::string, Source>> got;
  absl::Mutex mu;
  poller.SetSink([&](const std::string& u, const Observation& ob, Source s) {
    absl::MutexLock lock(&mu);
    got.emplace_back(ob.kind == Observation::Kind::kPresent ? ob.credentials.id : "-", s);
  });
  poller.Add("u1");
  const std::uint64_t before = poller.ReadEpoch();
  EXPECT_TRUE(poller.Observed("u1", Present("swept", "OK"), before));
  EXPECT_FALSE(poller.Observed("nobody", Present("swept", "OK"), before));
  EXPECT_TRUE(poller.PollNow("u1", Source::kAlert));  // reads (and ends) after `before`
  EXPECT_FALSE(poller.Observed("u1", Present("stale", "OK"), before));
  EXPECT_EQ(leaf.Reads("u1"), 2) << "a sweep observation is no read of Leaf";
  absl::MutexLock lock(&mu);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1], std::make_pair(std::string("swept"), Source::kPoll));
  EXPECT_EQ(got[2].second, Source::kAlert);
}
// A read Leaf's budget refused (or Leaf's 429) taught nothing: no watcher
// hears of it, and the same read (a first read stays the first) comes again
// after the delay the refusal gave.
TEST(PollerTest, AReadTheBudgetRefusedIsNotReportedAndComesAgainAfterItsDelay) {
  Scheduler scheduler;
  absl::Mutex mu;
  std::vector<Source> asked;
  int calls = 0;
  Poller::Fetch fetch = [&](const std::string&, Source source,
                            std::function<void(Observation)> done) {
    bool refuse;
    {
      absl::MutexLock lock(&mu);
      asked.push_back(source);
      refuse = ++calls == 1;
    }
    Observation o;
    if (refuse) {
      StatusDetails d;
      d.retry_delay = absl::Milliseconds(100);
      o = Observation::FromResult(MakeError(reasons::kLeafRateLimited, "no token in time", d));
      EXPECT_EQ(o.kind, Observation::Kind::kNotRead);
    } else {
      o.kind = Observation::Kind::kPresent;
    }
    done(o);
    return std::shared_ptr<leaf::Cancellable>();
  };
  PollerOptions options = Fast();
  options.interval = absl::Seconds(30);
  Poller poller(&scheduler, fetch, options);
  std::vector<std::pair<Observation::Kind, Source>> reported;
  poller.SetSink([&](const std::string&, const Observation& o, Source s) {
    absl::MutexLock lock(&mu);
    reported.emplace_back(o.kind, s);
  });
  const absl::Time added = absl::Now();
  poller.Add("u1");
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return !reported.empty();
  }));
  EXPECT_GE(absl::Now() - added, absl::Milliseconds(100)) << "asked again before the delay";
  absl::MutexLock lock(&mu);
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].first, Observation::Kind::kPresent);
  EXPECT_EQ(reported[0].second, Source::kInitial);
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_EQ(asked[1], Source::kInitial);
}

// Thousands of users added together do not all go to Leaf (and its
// budget) at once: at most max_reads_in_flight, the rest as reads end,
// prompted reads first.
TEST(PollerTest, AtMostMaxReadsInFlightTheRestQueuedAlertsFirst) {
  Scheduler scheduler;
  FakeLeaf leaf;
  leaf.hold = true;
  PollerOptions o = Fast();
  o.interval = absl::Hours(1);
  o.max_reads_in_flight = 2;
  Poller poller(&scheduler, leaf.Fetch(), o);
  std::vector<std::string> reported;
  absl::Mutex mu;
  poller.SetSink([&](const std::string& user, const Observation&, Source) {
    absl::MutexLock lock(&mu);
    reported.push_back(user);
  });
  for (const char* u : {"u1", "u2", "u3", "u4", "u5"}) poller.Add(u);
  auto held = [&] {
    absl::MutexLock lock(&leaf.mu);
    return leaf.held.size();
  };
  EXPECT_EQ(held(), 2u);
  poller.Remove("u3");                   // a queued read of a removed user never starts
  poller.PollNow("u5", Source::kAlert);  // queued: the prompt waits for its first read
  auto answer = [&](size_t i) {
    std::function<void(Observation)> done;
    {
      absl::MutexLock lock(&leaf.mu);
      done = leaf.held[i];
    }
    Observation ok;
    ok.kind = Observation::Kind::kPresent;
    done(ok);
  };
  answer(0);
  EXPECT_EQ(held(), 3u);
  answer(1);
  EXPECT_EQ(held(), 4u);
  answer(2);
  answer(3);
  EXPECT_EQ(held(), 4u) << "u3 was removed: 4 reads in all";
  EXPECT_EQ(leaf.Reads("u3"), 0);
  absl::MutexLock lock(&mu);
  EXPECT_EQ(reported.size(), 4u);
}

}  // namespace
}  // namespace leafsvc::watch
