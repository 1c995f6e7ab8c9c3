// Latency percentiles and per-process figures read from /proc, for the
// benchmark's reports.
#ifndef BENCH_STATS_H_
#define BENCH_STATS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

struct LatencySummary {
  std::int64_t count = 0;
  double mean_us = 0;
  double p50_us = 0;
  double p90_us = 0;
  double p99_us = 0;
  double p999_us = 0;
  double max_us = 0;
};

// Sorts `latencies_ns` in place. Percentiles are nearest-rank.
LatencySummary Summarize(std::vector<std::int64_t>& latencies_ns);

// Nearest-rank percentile (q in [0, 1]) of sorted values; 0 when empty.
std::int64_t Percentile(const std::vector<std::int64_t>& sorted, double q);

// utime + stime, in seconds, from the text of /proc/<pid>/stat; -1 if it
// cannot be parsed. `ticks_per_second` is sysconf(_SC_CLK_TCK).
double CpuSecondsFromStat(std::string_view stat, long ticks_per_second);

// The whole process (all threads); -1 if the process is gone.
double ProcessCpuSeconds(pid_t pid);

// A "Name:   value kB" (or plain number) field of /proc/<pid>/status; -1 if
// absent. E.g. "VmHWM", "VmRSS", "Threads".
std::int64_t StatusField(pid_t pid, std::string_view name);
std::int64_t StatusFieldFromText(std::string_view status, std::string_view name);

// Context switches (voluntary + involuntary) summed over the live threads
// of `pid`; -1 if the process is gone.
std::int64_t ContextSwitches(pid_t pid);

// TCP connections in state ESTABLISHED owned by `pid` whose remote port is
// `remote_port` (matching the socket inodes of /proc/<pid>/fd against
// /proc/<pid>/net/tcp and tcp6).
int CountEstablishedTo(pid_t pid, int remote_port);

// The same count from the text of a /proc/net/tcp table, for the given
// socket inodes (exposed for tests).
int CountEstablishedInTable(std::string_view table, int remote_port,
                            const std::vector<std::uint64_t>& inodes);

std::string ReadFileOrEmpty(const std::string& path);

// CPU seconds (user + system) this process has used so far.
double SelfCpuSeconds();

// Busy CPU seconds of the whole machine (all CPUs), from /proc/stat.
double MachineBusySeconds();

}  // namespace bench

#endif  // BENCH_STATS_H_
