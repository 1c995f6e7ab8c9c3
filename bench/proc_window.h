// What one process cost over a measured window, from /proc and (for system
// calls) a counting-mode `perf stat` on the raw_syscalls:sys_enter
// tracepoint: a kernel counter per thread, no sampling and no ptrace, so it
// does not slow the process down the way `strace -c` does. perf is used
// only when it is installed and the tracepoint can be opened; otherwise the
// syscall figure is -1 ("not measured").
#ifndef BENCH_PROC_WINDOW_H_
#define BENCH_PROC_WINDOW_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace bench {

struct ProcFigures {
  double cpu_s = -1;               // utime + stime of all threads, /proc/PID/stat
  std::int64_t ctx_switches = -1;  // voluntary + involuntary, summed over /proc/PID/task/*/status
  double syscalls = -1;            // system calls entered, scaled to the whole window
  std::int64_t hwm_kb = -1;        // VmHWM (peak RSS) at the end of the window
  // The most RssAnon (heap, stacks, written pages: what a container's RSS
  // metric counts, without the file pages of code) seen by sampling every
  // 50 ms during the window; the kernel keeps no peak of it.
  std::int64_t anon_peak_kb = -1;
  std::int64_t rss_kb = -1;
  std::int64_t threads = -1;
};

// Whether perf can count raw_syscalls:sys_enter here (checked once).
bool SyscallCountingAvailable();

// The count and running time (ns) from `perf stat -x,` output; false when
// the output holds no raw_syscalls:sys_enter line.
bool ParsePerfStatSyscalls(const std::string& text, double* count, double* running_ns);

class ProcWindow {
 public:
  // `scratch` is a file perf may write its counts to.
  ProcWindow(pid_t pid, std::string scratch) : pid_(pid), scratch_(std::move(scratch)) {}
  ~ProcWindow();
  void Begin();
  // `window_s`: the length of the load window, to scale perf's count to.
  ProcFigures End(double window_s);

 private:
  pid_t pid_;
  std::string scratch_;
  pid_t perf_ = -1;
  double cpu0_ = 0;
  std::int64_t ctx0_ = 0;
  // Samples RssAnon between Begin and End.
  std::thread sampler_;
  std::atomic<bool> sampling_{false};
  std::atomic<std::int64_t> anon_peak_kb_{-1};

  void StopSampler();
};

}  // namespace bench

#endif  // BENCH_PROC_WINDOW_H_
