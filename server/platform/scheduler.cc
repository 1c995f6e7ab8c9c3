#include "server/platform/scheduler.h"

#include <chrono>

#include "absl/time/clock.h"

namespace leafsvc {

Scheduler::Scheduler() : thread_([this] { Loop(); }) {}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Scheduler::TaskId Scheduler::RunAt(absl::Time when, std::function<void()> fn) {
  TaskId id;
  bool first;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = ++next_id_;
    tasks_.emplace(std::make_pair(when, id), std::move(fn));
    when_[id] = when;
    first = tasks_.begin()->first.second == id;
  }
  if (first) cv_.notify_all();
  return id;
}

bool Scheduler::Cancel(TaskId id) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = when_.find(id);
  if (it == when_.end()) {
    // Already running elsewhere: its owner may be about to free what it
    // touches, so wait until it returns. From the task itself (or from a
    // task it runs inline) waiting would never end.
    if (running_ == id && std::this_thread::get_id() != thread_.get_id()) {
      ran_.wait(lock, [&] { return running_ != id; });
    }
    return false;
  }
  tasks_.erase({it->second, id});
  when_.erase(it);
  return true;
}

void Scheduler::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    if (tasks_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto first = tasks_.begin();
    const absl::Time when = first->first.first;
    const absl::Time now = absl::Now();
    if (when > now) {
      cv_.wait_for(lock, absl::ToChronoMicroseconds(when - now) + std::chrono::microseconds(1));
      continue;
    }
    std::function<void()> fn = std::move(first->second);
    running_ = first->first.second;
    when_.erase(first->first.second);
    tasks_.erase(first);
    lock.unlock();
    fn();
    // The task's captures go before a waiting Cancel returns.
    fn = nullptr;
    lock.lock();
    running_ = 0;
    ran_.notify_all();
  }
}

}  // namespace leafsvc
