// The descriptor budget and the accept4() interposer (server/platform/fd_limit.h).
// Each case runs in a forked child with a small RLIMIT_NOFILE of its own, so
// the reserve (process-wide, with no way back) never touches other cases.
#include "server/platform/fd_limit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "server/observability/log.h"

namespace leafsvc {
namespace {

// Runs `body` in a child; its return value is the exit code (0: passed,
// else the line of the failed check).
// Failures are described on stderr, which the test log shows.
int InChild(const std::function<int()>& body) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) _exit(body());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#define CHILD_CHECK(cond)                                                                     \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      std::fprintf(stderr, "%s:%d: check failed: %s (errno %d)\n", __FILE__, __LINE__, #cond, \
                   errno);                                                                    \
      return __LINE__;                                                                        \
    }                                                                                         \
  } while (0)

bool SetNofile(rlim_t soft, rlim_t hard) {
  rlimit lim{soft, hard};
  return setrlimit(RLIMIT_NOFILE, &lim) == 0;
}

// A non-blocking (or blocking) listener on 127.0.0.1, and its port.
int Listen(bool nonblocking, int* port) {
  const int fd = socket(AF_INET, SOCK_STREAM | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(fd, 64) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return -1;
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

// A connected client; the kernel completes the handshake from the backlog
// before anyone accepts.
int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return -1;
  return fd;
}

// Opens /dev/null until every descriptor number below `below` is taken;
// returns the fillers.
std::vector<int> FillBelow(int below) {
  std::vector<int> fds;
  while (true) {
    const int fd = open("/dev/null", O_RDONLY);
    if (fd < 0) break;
    if (fd >= below) {
      close(fd);
      break;
    }
    fds.push_back(fd);
  }
  return fds;
}

// True when the peer closed `fd` (EOF or reset), waiting at most 10 s.
bool PeerClosed(int fd) {
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char c;
  const ssize_t n = recv(fd, &c, 1, 0);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

TEST(FdLimitTest, RaisesTheSoftLimitToTheHardLimit) {
  const int failed_at = InChild([] {
    rlimit lim{};
    CHILD_CHECK(getrlimit(RLIMIT_NOFILE, &lim) == 0);
    const rlim_t hard = lim.rlim_max == RLIM_INFINITY ? 4096 : lim.rlim_max;
    CHILD_CHECK(hard > 300);
    CHILD_CHECK(SetNofile(256, hard));
    absl::StatusOr<FdBudget> b = RaiseFdLimitAndReserve(0);
    CHILD_CHECK(b.ok());
    CHILD_CHECK(getrlimit(RLIMIT_NOFILE, &lim) == 0);
    CHILD_CHECK(lim.rlim_cur == hard);
    CHILD_CHECK(b->soft_limit == static_cast<int64_t>(hard));
    CHILD_CHECK(b->hard_limit == static_cast<int64_t>(hard));
    CHILD_CHECK(b->caller_below == b->soft_limit);  // no reserve
    return 0;
  });
  EXPECT_EQ(failed_at, 0) << "the child's check on that line failed (its message is above)";
}

TEST(FdLimitTest, AReserveLeavingFewerThan64ForCallersIsRefused) {
  const int failed_at = InChild([] {
    CHILD_CHECK(SetNofile(200, 200));
    absl::StatusOr<FdBudget> b = RaiseFdLimitAndReserve(136);  // leaves exactly 64
    CHILD_CHECK(b.ok());
    CHILD_CHECK(b->soft_limit == 200);
    CHILD_CHECK(b->caller_below == 64);
    b = RaiseFdLimitAndReserve(137);  // leaves 63
    CHILD_CHECK(!b.ok());
    CHILD_CHECK(b.status().code() == absl::StatusCode::kInvalidArgument);
    CHILD_CHECK(absl::StrContains(b.status().message(), "--fd_reserve 137"));
    CHILD_CHECK(absl::StrContains(b.status().message(), "fewer than 64 of the 200"));
    CHILD_CHECK(!RaiseFdLimitAndReserve(1000000).ok());
    return 0;
  });
  EXPECT_EQ(failed_at, 0) << "the child's check on that line failed (its message is above)";
}

TEST(FdLimitTest, ARefusedReserveKeepsThePreviousOne) {
  // A failed call must not leave a reserve the caller was told was refused.
  const int failed_at = InChild([] {
    CHILD_CHECK(SetNofile(200, 200));
    CHILD_CHECK(RaiseFdLimitAndReserve(0).ok());
    CHILD_CHECK(!RaiseFdLimitAndReserve(150).ok());
    int port = 0;
    const int listener = Listen(/*nonblocking=*/true, &port);
    CHILD_CHECK(listener >= 0);
    std::vector<int> fillers = FillBelow(100);  // accepted fds land >= 100
    const int client = Connect(port);
    CHILD_CHECK(client >= 0);
    const int accepted = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    CHILD_CHECK(accepted >= 100);  // 150 would have reserved it
    return 0;
  });
  EXPECT_EQ(failed_at, 0) << "the child's check on that line failed (its message is above)";
}

TEST(FdLimitTest, AcceptRefusesReservedDescriptorsAndDrainsTheBacklog) {
  const int failed_at = InChild([] {
    std::vector<std::string> lines;
    SetLogSink([&lines](absl::string_view l) { lines.emplace_back(l); });
    CHILD_CHECK(SetNofile(256, 256));
    absl::StatusOr<FdBudget> b = RaiseFdLimitAndReserve(64);
    CHILD_CHECK(b.ok());
    CHILD_CHECK(b->caller_below == 192);
    int port = 0;
    const int listener = Listen(/*nonblocking=*/true, &port);
    CHILD_CHECK(listener >= 0);
    std::vector<int> fillers = FillBelow(192);
    CHILD_CHECK(!fillers.empty());
    // Three callers queue up; their own sockets take reserved
    // numbers, which only accepted connections are denied.
    const int c1 = Connect(port), c2 = Connect(port), c3 = Connect(port);
    CHILD_CHECK(c1 >= 192 && c2 >= 192 && c3 >= 192);
    CHILD_CHECK(RefusedForFdReserve() == 0);
    // One call refuses the whole backlog, then reports no connection.
    errno = 0;
    CHILD_CHECK(accept4(listener, nullptr, nullptr, SOCK_CLOEXEC) == -1);
    CHILD_CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
    CHILD_CHECK(RefusedForFdReserve() == 3);
    CHILD_CHECK(PeerClosed(c1) && PeerClosed(c2) && PeerClosed(c3));
    // The refused descriptors were closed, not leaked.
    const int probe = open("/dev/null", O_RDONLY);
    CHILD_CHECK(probe >= 192 && probe <= c3 + 1);
    close(probe);
    // One line for the burst, with the count.
    CHILD_CHECK(lines.size() == 1);
    CHILD_CHECK(absl::StrContains(lines[0], "\"level\":\"warning\""));
    CHILD_CHECK(absl::StrContains(lines[0], "\"caller_below\":192"));
    CHILD_CHECK(absl::StrContains(lines[0], "\"refused_total\":1"));
    // Numbers below the reserve free up: the next caller's own
    // socket takes the lowest, its accepted end the other.
    CHILD_CHECK(fillers.size() >= 2);
    close(fillers[fillers.size() - 2]);
    close(fillers.back());
    const int c4 = Connect(port);
    CHILD_CHECK(c4 == fillers[fillers.size() - 2]);
    const int accepted = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    CHILD_CHECK(accepted == fillers.back());
    CHILD_CHECK(RefusedForFdReserve() == 3);
    // Later refusals within 10 s are counted, not logged.
    const int c5 = Connect(port);
    CHILD_CHECK(c5 >= 0);
    CHILD_CHECK(accept4(listener, nullptr, nullptr, 0) == -1);
    CHILD_CHECK(RefusedForFdReserve() == 4);
    CHILD_CHECK(lines.size() == 1);
    SetLogSink(nullptr);
    return 0;
  });
  EXPECT_EQ(failed_at, 0) << "the child's check on that line failed (its message is above)";
}

TEST(FdLimitTest, ABlockingListenerGetsATransientErrorInsteadOfWaiting) {
  const int failed_at = InChild([] {
    SetLogSink([](absl::string_view) {});
    CHILD_CHECK(SetNofile(256, 256));
    CHILD_CHECK(RaiseFdLimitAndReserve(64).ok());
    int port = 0;
    const int listener = Listen(/*nonblocking=*/false, &port);
    CHILD_CHECK(listener >= 0);
    std::vector<int> fillers = FillBelow(192);
    const int c1 = Connect(port);
    CHILD_CHECK(c1 >= 0);
    // Would block forever if the interposer looped for another.
    errno = 0;
    CHILD_CHECK(accept4(listener, nullptr, nullptr, 0) == -1);
    CHILD_CHECK(errno == ECONNABORTED);
    CHILD_CHECK(RefusedForFdReserve() == 1);
    CHILD_CHECK(PeerClosed(c1));
    return 0;
  });
  EXPECT_EQ(failed_at, 0) << "the child's check on that line failed (its message is above)";
}

TEST(FdLimitTest, WithoutAReserveEveryDescriptorIsAccepted) {
  const int failed_at = InChild([] {
    CHILD_CHECK(SetNofile(256, 256));
    CHILD_CHECK(RaiseFdLimitAndReserve(0).ok());
    int port = 0;
    const int listener = Listen(/*nonblocking=*/true, &port);
    CHILD_CHECK(listener >= 0);
    std::vector<int> fillers = FillBelow(250);
    const int c1 = Connect(port);
    CHILD_CHECK(c1 >= 250);
    const int accepted = accept4(listener, nullptr, nullptr, 0);
    CHILD_CHECK(accepted > c1);
    CHILD_CHECK(RefusedForFdReserve() == 0);
    return 0;
  });
  EXPECT_EQ(failed_at, 0) << "the child's check on that line failed (its message is above)";
}

TEST(FdLimitTest, AcceptErrorsPassThroughUnchanged) {
  const int failed_at = InChild([] {
    CHILD_CHECK(SetNofile(256, 256));
    CHILD_CHECK(RaiseFdLimitAndReserve(64).ok());
    errno = 0;
    CHILD_CHECK(accept4(-1, nullptr, nullptr, 0) == -1);
    CHILD_CHECK(errno == EBADF);
    int port = 0;
    const int listener = Listen(/*nonblocking=*/true, &port);
    errno = 0;
    CHILD_CHECK(accept4(listener, nullptr, nullptr, 0) == -1);  // nothing queued
    CHILD_CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
    CHILD_CHECK(RefusedForFdReserve() == 0);
    return 0;
  });
  EXPECT_EQ(failed_at, 0) << "the child's check on that line failed (its message is above)";
}

}  // namespace
}  // namespace leafsvc
