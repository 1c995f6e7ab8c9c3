#include "server/util/scheduler.h"

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
  std::lock_guard<std::mutex> lock(mu_);
  auto it = when_.find(id);
  if (it == when_.end()) return false;
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
    when_.erase(first->first.second);
    tasks_.erase(first);
    lock.unlock();
    fn();
    lock.lock();
  }
}

}  // namespace leafsvc
