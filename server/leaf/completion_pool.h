// Threads for completion work too large for the transport's event-loop
// thread: decoding a multi-megabyte events list there would hold up every
// other call's bytes (head-of-line blocking). Small completions stay on the
// loop thread, where they cost no extra hand-off. The threads start with the
// first task and run at a lower scheduling priority (nice +10), so that the
// loop thread and gRPC's threads get a CPU first when the machine is busy.
#ifndef SERVER_LEAF_COMPLETION_POOL_H_
#define SERVER_LEAF_COMPLETION_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace leafsvc::leaf {

class CompletionPool {
 public:
  explicit CompletionPool(int threads) : max_threads_(threads < 1 ? 1 : threads) {}
  // Runs every task still queued, then joins the threads.
  ~CompletionPool();

  CompletionPool(const CompletionPool&) = delete;
  CompletionPool& operator=(const CompletionPool&) = delete;

  // Queues `task` and returns at once; tasks start in the order posted.
  void Post(std::function<void()> task);

 private:
  void Run();

  const int max_threads_;
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  int idle_ = 0;                             // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;         // guarded by mu_
};

}  // namespace leafsvc::leaf

#endif  // SERVER_LEAF_COMPLETION_POOL_H_
