#include "bench/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace bench {

Child Spawn(const std::vector<std::string>& args, const std::vector<std::string>& env,
            const std::string& log_path, bool capture_stdout) {
  int pipe_fds[2] = {-1, -1};
  if (capture_stdout && pipe2(pipe_fds, O_CLOEXEC) != 0) return {};
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  std::vector<std::string> full_env;
  for (char** e = environ; *e != nullptr; ++e) full_env.emplace_back(*e);
  for (const std::string& e : env) full_env.push_back(e);
  std::vector<char*> argv_c, env_c;
  for (const std::string& a : args) argv_c.push_back(const_cast<char*>(a.c_str()));
  argv_c.push_back(nullptr);
  for (const std::string& e : full_env) env_c.push_back(const_cast<char*>(e.c_str()));
  env_c.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    if (capture_stdout) dup2(pipe_fds[1], 1);
    if (log_fd >= 0) dup2(log_fd, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execvpe(argv_c[0], argv_c.data(), env_c.data());
    _exit(127);
  }
  if (log_fd >= 0) close(log_fd);
  Child c;
  c.pid = pid;
  if (capture_stdout) {
    close(pipe_fds[1]);
    c.out_fd = pipe_fds[0];
  }
  return c;
}

int WaitForPort(const Child& c, const std::string& marker, int timeout_s) {
  std::string buf;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{c.out_fd, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    char tmp[512];
    const ssize_t n = read(c.out_fd, tmp, sizeof tmp);
    if (n <= 0) return -1;
    buf.append(tmp, n);
    const std::size_t at = buf.find(marker);
    if (at == std::string::npos) continue;
    const std::size_t eol = buf.find('\n', at);
    if (eol == std::string::npos) continue;
    const std::string line = buf.substr(at, eol - at);
    return std::atoi(line.substr(line.rfind(':') + 1).c_str());
  }
  return -1;
}

int StopChild(pid_t pid, int timeout_s) {
  if (pid <= 0) return -1;
  kill(pid, SIGTERM);
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  while (std::chrono::steady_clock::now() < end) {
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return status;
}

void RunShell(const std::string& templ, pid_t pid) {
  if (templ.empty()) return;
  std::string cmd = templ;
  for (std::size_t at; (at = cmd.find("{pid}")) != std::string::npos;) {
    cmd.replace(at, 5, std::to_string(pid));
  }
  if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "bench: '%s' failed\n", cmd.c_str());
}

}  // namespace bench
