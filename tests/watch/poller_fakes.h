// The poller tests' fakes: a Leaf that answers reads at once (or holds
// them), fast options and a bounded wait.
#ifndef TESTS_WATCH_POLLER_FAKES_H_
#define TESTS_WATCH_POLLER_FAKES_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/watch/poller.h"

namespace leafsvc::watch {

class NoopCall final : public leaf::Cancellable {
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
    return [this](const std::string& user, Source source, std::function<void(Observation)> done) {
      {
        absl::MutexLock lock(&mu);
        ++reads[user];
        sources.push_back(source);
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

inline PollerOptions Fast() {
  PollerOptions o;
  o.interval = absl::Milliseconds(50);
  o.jitter = absl::ZeroDuration();
  o.max_backoff = absl::Milliseconds(400);
  o.random = [] { return 0.5; };
  return o;
}

inline bool WaitFor(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

}  // namespace leafsvc::watch

#endif  // TESTS_WATCH_POLLER_FAKES_H_
