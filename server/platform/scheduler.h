// Runs callbacks after a delay on one background thread, so that waiting
// (e.g. a retry backoff) never holds a gRPC or transport thread.
#ifndef SERVER_PLATFORM_SCHEDULER_H_
#define SERVER_PLATFORM_SCHEDULER_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/time/time.h"

namespace leafsvc {

class Scheduler {
 public:
  using TaskId = std::uint64_t;

  Scheduler();
  // Runs nothing more; tasks still pending are dropped without running.
  ~Scheduler();

  // Runs `fn` on the scheduler thread at `when` (at once if it has passed).
  TaskId RunAt(absl::Time when, std::function<void()> fn);
  // Returns true if the task had not started and now never will. If it is
  // running on the scheduler thread, waits for it to return first (so that
  // once Cancel returns, the task touches nothing of the caller's), unless
  // called from the task itself (which would wait for itself).
  bool Cancel(TaskId id);

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  // Signalled each time a task returns (Cancel waits on it).
  std::condition_variable ran_;
  bool stop_ = false;
  TaskId next_id_ = 0;
  TaskId running_ = 0;  // the task being run (0: none)
  // Ordered by (time, id): ids break ties in submission order.
  std::map<std::pair<absl::Time, TaskId>, std::function<void()>> tasks_;
  std::map<TaskId, absl::Time> when_;
  std::thread thread_;
};

}  // namespace leafsvc

#endif  // SERVER_PLATFORM_SCHEDULER_H_
