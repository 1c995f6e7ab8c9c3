#include "server/watch/poller.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>
#include <vector>

#include "absl/time/clock.h"

namespace leafsvc::watch {
namespace {

std::function<double()> DefaultRandom() {
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  auto mu = std::make_shared<absl::Mutex>();
  return [engine, mu] {
    absl::MutexLock lock(mu.get());
    return std::uniform_real_distribution<double>(0.0, 1.0)(*engine);
  };
}

}  // namespace

Poller::Poller(Scheduler* scheduler, Fetch fetch, PollerOptions options)
    : scheduler_(scheduler),
      fetch_(std::move(fetch)),
      options_(std::move(options)),
      random_(options_.random ? options_.random : DefaultRandom()) {}

Poller::~Poller() {
  std::vector<std::string> users;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [user, poll] : users_) users.push_back(user);
  }
  for (const std::string& user : users) Remove(user);
}

absl::Duration Poller::NextDelay(const PollerOptions& options, int failures, double u) {
  absl::Duration base = options.interval;
  if (failures > 0) {
    // interval, 2x, 4x ... while failing: a Leaf outage is not made worse
    // by every watched user being read at full rate.
    const absl::Duration cap = std::max(options.max_backoff, options.interval);
    const double factor = std::pow(2.0, std::min(failures - 1, 30));
    base = std::min(cap, options.interval * factor);
  }
  return base + options.jitter * u;
}

void Poller::Add(const std::string& user) {
  std::uint64_t generation;
  {
    absl::MutexLock lock(&mu_);
    if (users_.contains(user)) return;
    generation = ++next_generation_;
    users_[user].generation = generation;
  }
  Read(user, generation, Source::kInitial);
}

void Poller::Remove(const std::string& user) {
  std::shared_ptr<leaf::LeafCall> call;
  Scheduler::TaskId timer = 0;
  bool timer_set = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = users_.find(user);
    if (it == users_.end()) return;
    call = std::move(it->second.in_flight);
    timer = it->second.timer;
    timer_set = it->second.timer_set;
    users_.erase(it);
  }
  if (timer_set) scheduler_->Cancel(timer);
  if (call) call->Cancel();
}

void Poller::PollNow(const std::string& user, Source source) {
  std::uint64_t generation;
  Scheduler::TaskId timer = 0;
  bool timer_set = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = users_.find(user);
    if (it == users_.end()) return;
    if (it->second.reading) {
      // The read in flight may have been sent before the change it is
      // prompted by: read once more when it is done.
      it->second.prompt_pending = true;
      return;
    }
    generation = it->second.generation;
    timer = it->second.timer;
    timer_set = std::exchange(it->second.timer_set, false);
  }
  if (timer_set) scheduler_->Cancel(timer);
  Read(user, generation, source);
}

int Poller::size() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(users_.size());
}

void Poller::Read(const std::string& user, std::uint64_t generation, Source source) {
  {
    absl::MutexLock lock(&mu_);
    auto it = users_.find(user);
    if (it == users_.end() || it->second.generation != generation || it->second.reading) return;
    it->second.reading = true;
    it->second.timer_set = false;
  }
  std::shared_ptr<leaf::LeafCall> call =
      fetch_(user, [this, user, generation, source](Observation observation) {
        Finished(user, generation, source, observation);
      });
  absl::MutexLock lock(&mu_);
  auto it = users_.find(user);
  // Keep the handle only while this read is still the user's current one
  // (it may have finished inline, or the user may have gone).
  if (it != users_.end() && it->second.generation == generation && it->second.reading) {
    it->second.in_flight = std::move(call);
  }
}

void Poller::Finished(const std::string& user, std::uint64_t generation, Source source,
                      const Observation& observation) {
  {
    absl::MutexLock lock(&mu_);
    auto it = users_.find(user);
    if (it == users_.end() || it->second.generation != generation) return;  // removed
    it->second.in_flight.reset();
    it->second.failures =
        observation.kind == Observation::Kind::kError ? it->second.failures + 1 : 0;
  }
  // Reported while the user still counts as being read, so a prompt that
  // arrives meanwhile waits: outcomes reach the sink in the order of reads.
  if (sink_) sink_(user, observation, source);
  bool again_now = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = users_.find(user);
    if (it == users_.end() || it->second.generation != generation) return;
    UserPoll& poll = it->second;
    poll.reading = false;
    again_now = std::exchange(poll.prompt_pending, false);
    if (!again_now) {
      const absl::Duration delay = NextDelay(options_, poll.failures, random_());
      poll.timer_set = true;
      poll.timer = scheduler_->RunAt(
          absl::Now() + delay, [this, user, generation] { Read(user, generation, Source::kPoll); });
    }
  }
  if (again_now) Read(user, generation, Source::kAlert);
}

}  // namespace leafsvc::watch
