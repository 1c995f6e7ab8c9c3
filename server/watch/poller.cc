#include "server/watch/poller.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "server/errors/status_details.h"

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
      random_(options_.random ? options_.random : DefaultRandom()),
      now_(options_.now ? options_.now : [] { return absl::Now(); }) {}

Poller::~Poller() {
  // A read's completion may run on any thread (a large body on the
  // completion pool) at any time: from here on it does nothing, and the
  // ones already inside finish before the members they use go.
  gate_->Close();
  std::vector<std::string> users;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [user, poll] : users_) users.push_back(user);
  }
  for (const std::string& user : users) Remove(user);
  Scheduler::TaskId wake;
  {
    absl::MutexLock lock(&mu_);
    wake = wake_task_;
  }
  // Outside mu_: Cancel waits for the task if it is running (it takes mu_;
  // the gate, closed above, makes it return at once).
  if (wake != 0) scheduler_->Cancel(wake);
}

absl::Duration Poller::PacedInterval(absl::Duration interval, double rpm, int requests) {
  if (rpm <= 0 || requests <= 0) return interval;
  return std::max(interval, absl::Seconds(60.0 * requests / rpm));
}

absl::Duration Poller::NextDelay(const PollerOptions& options, int failures, double u,
                                 absl::Duration effective) {
  effective = std::max(effective, options.interval);
  absl::Duration base = effective;
  if (failures > 0) {
    // interval, 2x, 4x ... while failing: a Leaf outage is not made worse
    // by every watched user being read at full rate. Never sooner than the
    // pacing allows.
    const absl::Duration cap = std::max(options.max_backoff, options.interval);
    const double factor = std::pow(2.0, std::min(failures - 1, 30));
    base = std::max(effective, std::min(cap, options.interval * factor));
  }
  // The jitter grows with the pacing, so that users paced to one read per
  // 20 minutes spread over it instead of bunching.
  const double scale = options.interval > absl::ZeroDuration()
                           ? absl::FDivDuration(effective, options.interval)
                           : 1.0;
  return base + options.jitter * (scale * u);
}

double Poller::RateLocked() const {
  return options_.requests_per_minute ? options_.requests_per_minute() : 0;
}

absl::Duration Poller::OwnIntervalLocked() const {
  return PacedInterval(options_.interval, RateLocked(), static_cast<int>(users_.size()));
}

absl::Duration Poller::SweepIntervalLocked() const {
  return PacedInterval(options_.interval, RateLocked(), sweep_pages_);
}

absl::Duration Poller::PacingLocked(const UserPoll& poll) const {
  absl::Duration effective = OwnIntervalLocked();
  if (poll.armed_swept && sweep_pages_ > 0) {
    // Sweeps find this user: its own read waits two sweep intervals, so it
    // fires only when sweeps stop finding it (not when one is late).
    effective = std::max(effective, 2 * SweepIntervalLocked());
  }
  return effective;
}

void Poller::ReportLocked() {
  const absl::Duration effective = sweep_pages_ > 0 ? SweepIntervalLocked() : OwnIntervalLocked();
  if (effective == reported_) return;
  reported_ = effective;
  if (options_.on_effective_interval) options_.on_effective_interval(effective);
}

Poller::Start Poller::Begin(const std::string& user, UserPoll& poll, Source source) {
  poll.reading = true;
  poll.prompted_read = IsPrompted(source);
  poll.prompt_pending = false;
  poll.prompt_source = Source::kAlert;
  poll.last_start = now_();
  poll.last_epoch = ++epoch_;
  DisarmLocked(poll);
  Start start;
  start.user = user;
  start.generation = poll.generation;
  start.read_seq = ++poll.read_seq;
  start.source = source;
  return start;
}

absl::Time Poller::TimerTime(absl::Time now, absl::Duration delay) {
  const absl::Time at = now + delay;
  if (delay < kTimerGridFrom) return at;
  const std::int64_t grid = absl::ToInt64Nanoseconds(kTimerGrid);
  const std::int64_t ns = absl::ToUnixNanos(at);
  const std::int64_t rounded = ns / grid * grid;
  return absl::FromUnixNanos(rounded < ns ? rounded + grid : rounded);
}

void Poller::ArmLocked(const std::string& user, UserPoll& poll, absl::Duration delay) {
  DisarmLocked(poll);
  poll.timer_set = true;
  poll.timer_at = TimerTime(absl::Now(), delay);
  due_.emplace(std::make_pair(poll.timer_at, poll.generation), &user);
  if (poll.timer_at >= wake_at_) return;  // an earlier wake-up comes first
  // A wake-up planned for later stays: it finds nothing due, or wakes for
  // what is due by then.
  wake_at_ = poll.timer_at;
  const absl::Time at = wake_at_;
  // The scheduler never runs a task inside RunAt, so this is safe under mu_.
  wake_task_ = scheduler_->RunAt(at, [gate = gate_, this, at] {
    CallbackGate::Pass pass(gate.get());
    if (pass) Wake(at);
  });
}

void Poller::DisarmLocked(UserPoll& poll) {
  if (!poll.timer_set) return;
  due_.erase(std::make_pair(poll.timer_at, poll.generation));
  poll.timer_set = false;
}

void Poller::Wake(absl::Time at) {
  std::vector<Start> starts;
  {
    absl::MutexLock lock(&mu_);
    if (at == wake_at_) wake_at_ = absl::InfiniteFuture();
    const absl::Time now = absl::Now();
    while (!due_.empty() && due_.begin()->first.first <= now) {
      const std::string* user = due_.begin()->second;
      due_.erase(due_.begin());
      UserPoll& poll = users_.at(*user);
      poll.timer_set = false;
      if (std::optional<Start> start = OnTimerLocked(*user, poll)) {
        starts.push_back(*std::move(start));
      }
    }
    if (!due_.empty() && due_.begin()->first.first < wake_at_) {
      wake_at_ = due_.begin()->first.first;
      const absl::Time next = wake_at_;
      wake_task_ = scheduler_->RunAt(next, [gate = gate_, this, next] {
        CallbackGate::Pass pass(gate.get());
        if (pass) Wake(next);
      });
    }
  }
  for (Start& start : starts) Run(std::move(start));
}

void Poller::Add(const std::string& user) {
  Start start;
  {
    absl::MutexLock lock(&mu_);
    if (users_.contains(user)) return;
    UserPoll& poll = users_[user];
    poll.generation = ++next_generation_;
    start = Begin(user, poll, Source::kInitial);
    ReportLocked();
  }
  Run(std::move(start));
}

void Poller::Remove(const std::string& user) {
  std::shared_ptr<leaf::Cancellable> call;
  {
    absl::MutexLock lock(&mu_);
    auto it = users_.find(user);
    if (it == users_.end()) return;
    call = std::move(it->second.in_flight);
    DisarmLocked(it->second);  // before its key goes
    users_.erase(it);
    ReportLocked();
  }
  if (call) call->Cancel();
}

bool Poller::PollNow(const std::string& user, Source source) {
  std::optional<Start> start;
  // A connect link attached new credentials: one read must follow, whatever
  // came before (a connect prompt is rare: one per grower who consented).
  const bool connect = source == Source::kConnect;
  {
    absl::MutexLock lock(&mu_);
    auto it = users_.find(user);
    if (it == users_.end()) return false;
    UserPoll& poll = it->second;
    const absl::Time now = now_();
    const absl::Time spaced = poll.last_start + options_.min_prompt_interval;
    if (poll.prompt_pending) {
      // Coalesced with the prompted read to come, which then reports the
      // strongest reason it was asked for.
      if (!connect) return false;
      poll.prompt_source = Source::kConnect;
      // It follows a read in flight, or a read the budget refused (owed at
      // its own time); one waiting only for the alerts' spacing starts now.
      if (poll.reading || poll.refused_source.has_value()) return true;
      start = Begin(user, poll, source);
    } else if (poll.failures > 0 && !connect) {
      // Failing reads back off; an alert must not undo that (an alert storm
      // during a Leaf outage would otherwise read at the alerts' rate).
      return false;
    } else if (poll.reading) {
      if (poll.prompted_read && !connect) return false;
      // A read in flight may have been sent before the change the prompt
      // is about: one prompted read follows it (spaced for alerts).
      poll.prompt_pending = true;
      poll.prompt_source = source;
      return true;
    } else if (now < spaced && !connect) {
      poll.prompt_pending = true;
      poll.prompt_source = source;
      const absl::Duration wait = spaced - now;
      if (!poll.timer_set || poll.timer_at > absl::Now() + wait) {
        ArmLocked(it->first, poll, wait);
      }
    } else {
      start = Begin(user, poll, source);
    }
  }
  if (start) Run(*std::move(start));
  return true;
}

int Poller::size() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(users_.size());
}

bool Poller::Watches(const std::string& user) const {
  absl::MutexLock lock(&mu_);
  return users_.contains(user);
}

std::uint64_t Poller::ReadEpoch() const {
  absl::MutexLock lock(&mu_);
  return epoch_;
}

bool Poller::Observed(const std::string& user, const Observation& observation,
                      std::uint64_t epoch) {
  std::shared_ptr<leaf::Cancellable> superseded;
  Start read;
  {
    absl::MutexLock lock(&mu_);
    auto it = users_.find(user);
    if (it == users_.end()) return false;
    UserPoll& poll = it->second;
    // A read that began or ended after the page was requested may hold a
    // newer answer than the page's: left to it.
    if (poll.last_epoch > epoch) return false;
    if (poll.reading) {
      // A read of ours that began before the page was requested and has not
      // reported (most likely still waiting for the budget: many users'
      // first reads queue there): the page is at least as new as anything
      // it could say. It is cancelled and its answer dropped (its read_seq
      // is no longer current); a prompt it carried still reads.
      if (poll.prompted_read) poll.prompt_pending = true;
      superseded = std::move(poll.in_flight);
    }
    poll.refused_source.reset();  // a refused read is owed no more
    poll.reading = true;
    poll.prompted_read = false;
    DisarmLocked(poll);
    read.user = user;
    read.generation = poll.generation;
    read.read_seq = ++poll.read_seq;
    read.source = Source::kPoll;
    read.swept = true;
  }
  if (superseded) superseded->Cancel();
  // As a read that just finished: reported in order, then rescheduled (a
  // pending prompt still reads: the page may predate the alert).
  Finished(read, observation);
  return true;
}

void Poller::SetSweepPages(int pages) {
  absl::MutexLock lock(&mu_);
  sweep_pages_ = std::max(0, pages);
  ReportLocked();
}

absl::Duration Poller::SweepInterval() const {
  absl::MutexLock lock(&mu_);
  return SweepIntervalLocked();
}

absl::Duration Poller::EffectiveInterval() const {
  absl::MutexLock lock(&mu_);
  return reported_ > absl::ZeroDuration() ? reported_ : options_.interval;
}

std::optional<Poller::Start> Poller::OnTimerLocked(const std::string& user, UserPoll& poll) {
  if (poll.reading) return std::nullopt;  // (a read clears its timer)
  if (poll.refused_source.has_value()) {
    // A read the budget refused, owed now (a first read stays the first).
    const Source source = *poll.refused_source == Source::kInitial ? Source::kInitial
                          : poll.prompt_pending                    ? poll.prompt_source
                                                                   : *poll.refused_source;
    poll.refused_source.reset();
    return Begin(user, poll, source);
  }
  if (!poll.prompt_pending) {
    // Armed when fewer users were watched or the rate was higher: the
    // read waits for the pacing in force now.
    ReportLocked();
    const absl::Time due =
        poll.armed_from + NextDelay(options_, poll.failures, poll.armed_u, PacingLocked(poll));
    const absl::Time now = absl::Now();
    if (due > now + absl::Milliseconds(1)) {
      ArmLocked(user, poll, due - now);
      return std::nullopt;
    }
  }
  return Begin(user, poll, poll.prompt_pending ? poll.prompt_source : Source::kPoll);
}

void Poller::Run(Start start) {
  {
    absl::MutexLock lock(&mu_);
    if (options_.max_reads_in_flight > 0 && reads_in_flight_ >= options_.max_reads_in_flight) {
      // Started when a read ends; prompted reads (alerts) before the rest.
      if (IsPrompted(start.source)) {
        queued_.push_front(std::move(start));
      } else {
        queued_.push_back(std::move(start));
      }
      return;
    }
    ++reads_in_flight_;
  }
  Launch(std::move(start));
}

void Poller::ReadEnded() {
  {
    absl::MutexLock lock(&mu_);
    --reads_in_flight_;
    if (pumping_) {
      repump_ = true;  // the thread in the loop below starts the next
      return;
    }
    pumping_ = true;
  }
  // A loop, not recursion: a read that ends inside its Launch comes back
  // here and only marks another turn.
  for (;;) {
    std::optional<Start> next;
    {
      absl::MutexLock lock(&mu_);
      while (!queued_.empty() && (options_.max_reads_in_flight <= 0 ||
                                  reads_in_flight_ < options_.max_reads_in_flight)) {
        Start s = std::move(queued_.front());
        queued_.pop_front();
        auto it = users_.find(s.user);
        // Skipped when the user went, or a sweep answered for it meanwhile.
        if (it == users_.end() || it->second.generation != s.generation ||
            it->second.read_seq != s.read_seq || !it->second.reading) {
          continue;
        }
        ++reads_in_flight_;
        next = std::move(s);
        break;
      }
      if (!next) {
        if (repump_) {
          repump_ = false;
          continue;
        }
        pumping_ = false;
        return;
      }
    }
    Launch(*std::move(next));
  }
}

void Poller::Launch(Start start) {
  std::shared_ptr<leaf::Cancellable> call =
      fetch_(start.user, start.source, [gate = gate_, this, start](Observation observation) {
        CallbackGate::Pass pass(gate.get());
        if (!pass) return;
        Finished(start, observation);
        ReadEnded();
      });
  absl::MutexLock lock(&mu_);
  auto it = users_.find(start.user);
  // Keep the handle only while this read is still the user's current one
  // (it may have finished inline, or the user may have gone).
  if (it != users_.end() && it->second.generation == start.generation &&
      it->second.read_seq == start.read_seq && it->second.reading) {
    it->second.in_flight = std::move(call);
  }
}

void Poller::Finished(const Start& read, const Observation& observation) {
  auto current = [&](UserPoll& poll) {
    return poll.generation == read.generation && poll.read_seq == read.read_seq && poll.reading;
  };
  if (observation.kind == Observation::Kind::kNotRead) {
    // Leaf's budget had no room (or Leaf said 429): nothing was learnt and
    // nothing is reported; the same read comes again after the delay the
    // refusal gave, spread over twice that so refused reads do not return
    // together.
    absl::MutexLock lock(&mu_);
    auto it = users_.find(read.user);
    if (it == users_.end() || !current(it->second)) return;
    UserPoll& poll = it->second;
    poll.in_flight.reset();
    poll.reading = false;
    poll.prompted_read = false;
    if (IsPrompted(read.source)) {
      poll.prompt_pending = true;
      poll.prompt_source = read.source;
    }
    if (!poll.refused_source.has_value() || read.source == Source::kInitial) {
      poll.refused_source = read.source;
    }
    const absl::Duration hint =
        GetStatusDetails(observation.error).retry_delay.value_or(absl::Seconds(1));
    absl::Duration delay = std::clamp(hint, absl::Milliseconds(100), options_.max_backoff);
    delay += delay * random_();
    ArmLocked(it->first, poll, delay);
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    auto it = users_.find(read.user);
    if (it == users_.end() || !current(it->second)) return;  // removed
    it->second.in_flight.reset();
    if (!read.swept) it->second.last_epoch = ++epoch_;
    it->second.failures =
        observation.kind == Observation::Kind::kError ? it->second.failures + 1 : 0;
  }
  // Reported while the user still counts as being read, so a prompt that
  // arrives meanwhile waits: outcomes reach the sink in the order of reads.
  if (sink_) sink_(read.user, observation, read.source);
  std::optional<Start> next;
  {
    absl::MutexLock lock(&mu_);
    auto it = users_.find(read.user);
    if (it == users_.end() || !current(it->second)) return;
    UserPoll& poll = it->second;
    poll.reading = false;
    poll.prompted_read = false;
    const bool connect_owed = poll.prompt_pending && poll.prompt_source == Source::kConnect;
    if (poll.prompt_pending && (poll.failures == 0 || connect_owed)) {
      const absl::Time due = connect_owed ? now_() : poll.last_start + options_.min_prompt_interval;
      const absl::Time now = now_();
      if (now >= due) {
        next = Begin(read.user, poll, poll.prompt_source);
      } else {
        ArmLocked(it->first, poll, due - now);
      }
    } else {
      poll.prompt_pending = false;  // backing off: the next read is the poll's
      poll.armed_from = absl::Now();
      poll.armed_u = random_();
      poll.armed_swept = read.swept;
      ReportLocked();
      ArmLocked(it->first, poll,
                NextDelay(options_, poll.failures, poll.armed_u, PacingLocked(poll)));
    }
  }
  if (next) Run(*std::move(next));
}

}  // namespace leafsvc::watch
