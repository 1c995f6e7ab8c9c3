#include "server/platform/fd_limit.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/observability/log.h"

namespace leafsvc {
namespace {

// 0: no reserve. Otherwise accepted descriptors must be below this.
std::atomic<int> g_caller_below{0};
std::atomic<int64_t> g_refused{0};
std::atomic<int64_t> g_last_log_ms{INT64_MIN / 2};

void NoteRefusal(int fd, int below) {
  const int64_t refused = g_refused.fetch_add(1) + 1;
  const int64_t now = absl::ToUnixMillis(absl::Now());
  int64_t last = g_last_log_ms.load();
  if (now - last < 10000 || !g_last_log_ms.compare_exchange_strong(last, now)) return;
  Log(LogLevel::kWarning, "refusing caller connections: the descriptors left are reserved for Leaf",
      {{"fd", fd}, {"caller_below", below}, {"refused_total", refused}});
}

}  // namespace

absl::StatusOr<FdBudget> RaiseFdLimitAndReserve(int reserve) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    return absl::InternalError(absl::StrCat("getrlimit(RLIMIT_NOFILE) failed: errno ", errno));
  }
  if (lim.rlim_cur < lim.rlim_max) {
    const rlim_t before = lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
      return absl::InternalError(absl::StrCat("setrlimit(RLIMIT_NOFILE) from ", before, " to ",
                                              lim.rlim_max, " failed: errno ", errno));
    }
  }
  FdBudget budget;
  const auto clamp = [](rlim_t v) {
    return v == RLIM_INFINITY ? int64_t{INT_MAX} : std::min<int64_t>(v, INT_MAX);
  };
  budget.soft_limit = clamp(lim.rlim_cur);
  budget.hard_limit = clamp(lim.rlim_max);
  budget.caller_below = reserve > 0 ? budget.soft_limit - reserve : budget.soft_limit;
  if (reserve > 0 && budget.caller_below < 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("--fd_reserve ", reserve, " leaves fewer than 64 of the ", budget.soft_limit,
                     " file descriptors (RLIMIT_NOFILE) for caller connections"));
  }
  g_caller_below = reserve > 0 ? static_cast<int>(budget.caller_below) : 0;
  return budget;
}

int64_t RefusedForFdReserve() { return g_refused.load(); }

}  // namespace leafsvc

// Replaces libc's accept4 for the whole process (see fd_limit.h).
extern "C" int accept4(int sockfd, sockaddr* addr, socklen_t* addrlen, int flags) {
  while (true) {
    const int fd = static_cast<int>(syscall(SYS_accept4, sockfd, addr, addrlen, flags));
    const int below = leafsvc::g_caller_below.load(std::memory_order_relaxed);
    if (fd < 0 || below == 0 || fd < below) return fd;
    close(fd);
    leafsvc::NoteRefusal(fd, below);
    // Edge-triggered pollers (gRPC's) are not woken again for connections
    // already queued, so refuse the whole backlog now; a blocking listener
    // gets a transient error instead of waiting here.
    const int fl = fcntl(sockfd, F_GETFL);
    if (fl < 0 || (fl & O_NONBLOCK) == 0) {
      errno = ECONNABORTED;
      return -1;
    }
  }
}
