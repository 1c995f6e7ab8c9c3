// Child processes for process-level tests: start a binary, read its output
// lines, signal it, and run short commands to completion with a timeout.
#ifndef TESTS_PROCESS_SUBPROCESS_H_
#define TESTS_PROCESS_SUBPROCESS_H_

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace leafsvc::testing {

// Path of a binary in this test's runfiles, e.g. "server/agleader_credentials_server".
std::string RunfilePath(const std::string& workspace_relative);

class Subprocess {
 public:
  // Starts `argv` with `env` added to this process's environment; stdout is
  // captured (line by line), stderr goes to `stderr_file` if set, else to ours.
  static std::optional<Subprocess> Start(const std::vector<std::string>& argv,
                                         const std::map<std::string, std::string>& env = {},
                                         const std::string& stderr_file = "");
  Subprocess(Subprocess&& other) noexcept;
  ~Subprocess();  // SIGKILLs the child if it is still running

  // Reads stdout until a line starting with `prefix` appears; returns the line.
  std::optional<std::string> WaitForLine(const std::string& prefix, absl::Duration timeout);
  void Signal(int signo);
  // Exit code, or -signal if killed by a signal, or nullopt on timeout.
  std::optional<int> Wait(absl::Duration timeout);
  pid_t pid() const { return pid_; }
  // The child's threads, other than its main thread, that do not block
  // `signo` (from /proc/PID/task/*/status). A process-directed signal may be
  // delivered to any of them, and with the default action it kills the
  // process. The main thread is left out: while it waits in sigwait the
  // kernel shows the waited signals as unblocked.
  std::vector<pid_t> ThreadsNotBlocking(int signo) const;

 private:
  Subprocess() = default;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;
  bool reaped_ = false;
};

struct CommandResult {
  int exit_code = -1;  // -1: timed out (the child was killed)
  std::string out;
  std::string err;
};

struct CommandOptions {
  // Added to (or replacing) this process's environment...
  std::map<std::string, std::string> env;
  // ...after dropping every variable whose name starts with this (e.g.
  // "AGLEADER_", so a developer's settings cannot leak into a test).
  std::string drop_env_prefix;
  // Given as the child's stdin (from a file: any size).
  std::string stdin_data;
  absl::Duration timeout = absl::Seconds(30);
  // The child's RLIMIT_NOFILE (0: inherited).
  unsigned long nofile = 0;
};

// Runs a command to completion (or kills it after `options.timeout`).
CommandResult RunCommandWith(const std::vector<std::string>& argv, const CommandOptions& options);
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env = {},
                         const std::string& stdin_data = "",
                         absl::Duration timeout = absl::Seconds(30));

}  // namespace leafsvc::testing

#endif  // TESTS_PROCESS_SUBPROCESS_H_
