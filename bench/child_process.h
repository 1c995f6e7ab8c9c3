// The benchmark's child processes: the upstream, the service and perf.
#ifndef BENCH_CHILD_PROCESS_H_
#define BENCH_CHILD_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace bench {

struct Child {
  pid_t pid = -1;
  int out_fd = -1;  // its stdout
};

// Starts argv[0] with `env` added to ours; stdout to a pipe, stderr to
// `log_path`. The child gets SIGKILL if we die.
Child Spawn(const std::vector<std::string>& args, const std::vector<std::string>& env,
            const std::string& log_path, bool capture_stdout = true);

// Reads the child's stdout until a line containing `marker`; returns the
// port after the line's last ':' (or -1 after `timeout_s`).
int WaitForPort(const Child& c, const std::string& marker, int timeout_s);

// SIGTERM, then SIGKILL after `timeout_s`; the wait status, -1 without a pid.
int StopChild(pid_t pid, int timeout_s);

// Runs the shell command `templ` with every {pid} replaced by `pid`; nothing
// when empty, a message on stderr when it fails.
void RunShell(const std::string& templ, pid_t pid);

}  // namespace bench

#endif  // BENCH_CHILD_PROCESS_H_
