#include "server/watch/poller.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace leafsvc::watch {
namespace {

class NoopCall final : public leaf::LeafCall {
 public:
  explicit NoopCall(std::atomic<int>* cancels) : cancels_(cancels) {}
  void Cancel() override { cancels_->fetch_add(1); }

 private:
  std::atomic<int>* cancels_;
};

// Answers every read at once with `fail` deciding the outcome; counts reads.
struct FakeLeaf {
  absl::Mutex mu;
  std::map<std::string, int> reads;
  std::vector<Source> sources;
  std::atomic<bool> fail{false};
  std::atomic<int> cancels{0};
  bool hold = false;  // keep reads in flight (never answer)
  std::vector<std::function<void(Observation)>> held;

  Poller::Fetch Fetch() {
    return [this](const std::string& user, std::function<void(Observation)> done) {
      {
        absl::MutexLock lock(&mu);
        ++reads[user];
        if (hold) {
          held.push_back(std::move(done));
          return std::make_shared<NoopCall>(&cancels);
        }
      }
      Observation o;
      o.kind = fail ? Observation::Kind::kError : Observation::Kind::kPresent;
      if (fail) o.error = absl::UnavailableError("down");
      done(o);
      return std::make_shared<NoopCall>(&cancels);
    };
  }
  int Reads(const std::string& user) {
    absl::MutexLock lock(&mu);
    return reads[user];
  }
};

PollerOptions Fast() {
  PollerOptions o;
  o.interval = absl::Milliseconds(50);
  o.jitter = absl::ZeroDuration();
  o.max_backoff = absl::Milliseconds(400);
  o.random = [] { return 0.5; };
  return o;
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

TEST(PollerTest, PollNowReadsAtOnceAndAfterAReadInFlight) {
  Scheduler scheduler;
  FakeLeaf leaf;
  PollerOptions slow = Fast();
  slow.interval = absl::Hours(1);
  Poller poller(&scheduler, leaf.Fetch(), slow);
  std::vector<Source> sources;
  absl::Mutex mu;
  poller.SetSink([&](const std::string&, const Observation&, Source s) {
    absl::MutexLock lock(&mu);
    sources.push_back(s);
  });
  poller.Add("u1");
  poller.PollNow("u1", Source::kAlert);
  EXPECT_EQ(leaf.Reads("u1"), 2);
  poller.PollNow("unknown", Source::kAlert);
  EXPECT_EQ(leaf.Reads("unknown"), 0);

  {
    absl::MutexLock lock(&leaf.mu);
    leaf.hold = true;
  }
  poller.PollNow("u1", Source::kAlert);  // in flight now
  poller.PollNow("u1", Source::kAlert);  // deferred, once
  poller.PollNow("u1", Source::kAlert);
  EXPECT_EQ(leaf.Reads("u1"), 3);
  std::function<void(Observation)> done;
  {
    absl::MutexLock lock(&leaf.mu);
    leaf.hold = false;
    done = std::move(leaf.held.back());
  }
  Observation ok;
  ok.kind = Observation::Kind::kAbsent;
  done(ok);
  EXPECT_EQ(leaf.Reads("u1"), 4);
  absl::MutexLock lock(&mu);
  EXPECT_EQ(sources, (std::vector<Source>{Source::kInitial, Source::kAlert, Source::kAlert,
                                          Source::kAlert}));
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

}  // namespace
}  // namespace leafsvc::watch
