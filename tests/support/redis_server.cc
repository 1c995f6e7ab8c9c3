#include "tests/support/redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/support/free_port.h"

namespace leafsvc::testing {

bool RedisServer::Available() { return access(kRedisServerPath, X_OK) == 0; }

RedisServer::RedisServer(std::vector<std::string> extra_args)
    : extra_args_(std::move(extra_args)), port_(FreePort()) {}

RedisServer::~RedisServer() {
  if (pid_ > 0) {
    kill(pid_, SIGCONT);  // a paused server cannot act on SIGTERM
    kill(pid_, SIGTERM);
    // SIGKILL if it has not gone after 5 s.
    for (int i = 0; i < 500; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Kill();
  }
}

absl::Status RedisServer::Start() {
  if (!Available()) return absl::UnavailableError(absl::StrCat(kRedisServerPath, " is missing"));
  if (pid_ > 0) return absl::FailedPreconditionError("redis-server is already running");
  std::vector<std::string> args = {
      kRedisServerPath, "--port", absl::StrCat(port_), "--bind", "127.0.0.1",  "--save", "",
      "--appendonly",   "no",     "--daemonize",       "no",     "--loglevel", "warning"};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
    // Its log (warnings only) would clutter the test's output.
    const int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, STDOUT_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  pid_ = pid;
  for (int i = 0; i < 1000; ++i) {
    if (Answers()) return absl::OkStatus();
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError(
          absl::StrCat("redis-server exited at start (status ", status, ")"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Kill();
  return absl::DeadlineExceededError("redis-server did not answer PING within 10 s");
}

void RedisServer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void RedisServer::Pause() {
  if (pid_ > 0) kill(pid_, SIGSTOP);
}

void RedisServer::Resume() {
  if (pid_ > 0) kill(pid_, SIGCONT);
}

absl::Status RedisServer::Restart() {
  Kill();
  return Start();
}

// One PING on a fresh connection; any answer that is a reply counts (with
// requirepass, Redis answers -NOAUTH: it is up).
bool RedisServer::Answers() const {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const char ping[] = "PING\r\n";
    if (write(fd, ping, sizeof(ping) - 1) == static_cast<ssize_t>(sizeof(ping) - 1)) {
      pollfd p{fd, POLLIN, 0};
      char buf[64];
      if (poll(&p, 1, 1000) == 1 && read(fd, buf, sizeof(buf)) > 0) {
        ok = buf[0] == '+' || buf[0] == '-';
      }
    }
  }
  close(fd);
  return ok;
}

}  // namespace leafsvc::testing
