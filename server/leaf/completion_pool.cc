#include "server/leaf/completion_pool.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <utility>

namespace leafsvc::leaf {
namespace {

// Bulk work yields to the latency-sensitive threads (nice applies per
// thread on Linux). Failing to lower it is harmless.
constexpr int kNice = 10;

}  // namespace

CompletionPool::~CompletionPool() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    threads.swap(threads_);
  }
  ready_.notify_all();
  for (std::thread& t : threads) t.join();
  // Posted with no thread left to run them (or none had started): their
  // owners hear back now, while the pool's owner still exists.
  while (!queue_.empty()) {
    std::shared_ptr<Job> job = std::move(queue_.front());
    queue_.pop_front();
    RunJob(*job, /*cancelled=*/true);
  }
}

std::shared_ptr<CompletionPool::Job> CompletionPool::NewJob() { return std::make_shared<Job>(); }

void CompletionPool::Post(std::function<void()> task) {
  Post(NewJob(), [task = std::move(task)](bool) { task(); });
}

void CompletionPool::Post(std::shared_ptr<Job> job, Task task) {
  bool cancelled_early = false;
  {
    std::lock_guard<std::mutex> job_lock(job->mu);
    cancelled_early = job->state == Job::State::kCancelledEarly;
    job->state = Job::State::kQueued;
    job->task = std::move(task);
  }
  if (cancelled_early) {  // the owner hears back now
    RunJob(*job, /*cancelled=*/true);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(job));
    if (idle_ == 0 && static_cast<int>(threads_.size()) < max_threads_ && !stopping_) {
      threads_.emplace_back([this] { Run(); });
      return;
    }
  }
  ready_.notify_one();
}

void CompletionPool::RunJob(Job& job, bool cancelled) {
  Task task;
  {
    std::lock_guard<std::mutex> lock(job.mu);
    if (job.state != Job::State::kQueued) return;  // cancelled: ran elsewhere
    task = Take(job);
  }
  Finish(job, std::move(task), cancelled);
}

CompletionPool::Task CompletionPool::Take(Job& job) {
  job.state = Job::State::kRunning;
  job.runner = std::this_thread::get_id();
  return std::move(job.task);
}

void CompletionPool::Finish(Job& job, Task task, bool cancelled) {
  task(cancelled);
  // Whatever the task captured (the body, the owner's callback) goes before
  // the job counts as done.
  task = nullptr;
  std::lock_guard<std::mutex> lock(job.mu);
  job.state = Job::State::kDone;
  job.done.notify_all();
}

void CompletionPool::Cancel(Job& job) {
  Task task;
  {
    std::unique_lock<std::mutex> lock(job.mu);
    switch (job.state) {
      case Job::State::kNew:
        job.state = Job::State::kCancelledEarly;
        return;
      case Job::State::kCancelledEarly:
      case Job::State::kDone:
        return;
      case Job::State::kRunning:
        if (job.runner == std::this_thread::get_id()) return;
        job.done.wait(lock, [&] { return job.state == Job::State::kDone; });
        return;
      case Job::State::kQueued:
        // Still queued: it runs here, cancelled; the pool thread that pops
        // it later finds it taken.
        task = Take(job);
        break;
    }
  }
  Finish(job, std::move(task), /*cancelled=*/true);
}

void CompletionPool::Run() {
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), kNice);
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    ++idle_;
    ready_.wait(lock, [&] { return !queue_.empty() || stopping_; });
    --idle_;
    if (queue_.empty()) return;  // stopping, nothing left
    std::shared_ptr<Job> job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    RunJob(*job, /*cancelled=*/false);
    job.reset();
    lock.lock();
  }
}

}  // namespace leafsvc::leaf
