// Threads for completion work too large for the transport's event-loop
// thread: decoding a multi-megabyte events list there would hold up every
// other call's bytes (head-of-line blocking). Small completions stay on the
// loop thread, where they cost no extra hand-off. The threads start with the
// first task and run at a lower scheduling priority (nice +10), so that the
// loop thread and gRPC's threads get a CPU first when the machine is busy.
//
// Who owns a queued completion: the job's owner (the caller of the Leaf
// call). It may Cancel the job at any time; once Cancel returns the job's
// task has run (cancelled, on the canceller's thread, if it had not started)
// or is running on the canceller's own thread, so the owner may go away
// without a completion thread calling into it later. The pool's destructor
// runs what is still queued (cancelled) before it returns.
#ifndef SERVER_LEAF_COMPLETION_POOL_H_
#define SERVER_LEAF_COMPLETION_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace leafsvc::leaf {

class CompletionPool {
 public:
  // `cancelled`: the owner cancelled the job (or the pool is going away)
  // before the task started; the task should drop its work and only report.
  using Task = std::function<void(bool cancelled)>;
  // One completion, created before its task exists so that its owner can
  // cancel it whatever the order of Cancel and Post.
  class Job;

  explicit CompletionPool(int threads) : max_threads_(threads < 1 ? 1 : threads) {}
  // Joins the threads, then runs every task still queued, cancelled.
  ~CompletionPool();

  CompletionPool(const CompletionPool&) = delete;
  CompletionPool& operator=(const CompletionPool&) = delete;

  static std::shared_ptr<Job> NewJob();

  // Queues `task` for `job` and returns at once; tasks start in the order
  // posted. A job cancelled before it was posted runs its task at once, here,
  // cancelled. Posts a job once.
  void Post(std::shared_ptr<Job> job, Task task);
  // A job of its own, for work nobody cancels.
  void Post(std::function<void()> task);

  // See the file comment. Safe from any thread, inside the job's own task
  // too (it does not wait for itself).
  static void Cancel(Job& job);

 private:
  void Run();
  // Runs `job`'s task unless another thread took it first.
  static void RunJob(Job& job, bool cancelled);
  // Marks `job` running on this thread (its mu held) and returns its task.
  static Task Take(Job& job);
  // Runs `task`, then marks `job` done and wakes those waiting for it.
  static void Finish(Job& job, Task task, bool cancelled);

  const int max_threads_;
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::shared_ptr<Job>> queue_;  // guarded by mu_
  int idle_ = 0;                            // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  std::vector<std::thread> threads_;        // guarded by mu_
};

class CompletionPool::Job {
 public:
  Job() = default;

 private:
  friend class CompletionPool;
  enum class State { kNew, kCancelledEarly, kQueued, kRunning, kDone };
  std::mutex mu;
  std::condition_variable done;
  State state = State::kNew;  // guarded by mu
  Task task;                  // guarded by mu
  std::thread::id runner;     // guarded by mu
};

}  // namespace leafsvc::leaf

#endif  // SERVER_LEAF_COMPLETION_POOL_H_
