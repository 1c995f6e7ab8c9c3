#include "server/http/curl_socket_driver.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace leafsvc::http {
namespace {

// curl re-arming its timer at 0 this many times in a row is left to the
// loop's next turn rather than spun on by whoever holds the lock.
constexpr int kMaxTimerRunsPerCall = 16;

// A non-null marker for sockets already in the epoll set (curl keeps it per
// socket for us: curl_multi_assign).
char kWatched;

}  // namespace

CurlSocketDriver::~CurlSocketDriver() {
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

absl::Status CurlSocketDriver::Attach(CURLM* multi) {
  multi_ = multi;
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return absl::InternalError(absl::StrCat("epoll_create1: ", strerror(errno)));
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return absl::InternalError(absl::StrCat("eventfd: ", strerror(errno)));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    return absl::InternalError(absl::StrCat("epoll_ctl: ", strerror(errno)));
  }
  if (curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &CurlSocketDriver::OnSocket) != CURLM_OK ||
      curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, static_cast<void*>(this)) != CURLM_OK ||
      curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &CurlSocketDriver::OnTimer) != CURLM_OK ||
      curl_multi_setopt(multi, CURLMOPT_TIMERDATA, static_cast<void*>(this)) != CURLM_OK) {
    return absl::InternalError("curl_multi_setopt (socket callbacks) failed");
  }
  return absl::OkStatus();
}

int CurlSocketDriver::OnSocket(CURL*, curl_socket_t s, int what, void* driver, void* socketp) {
  auto* self = static_cast<CurlSocketDriver*>(driver);
  if (what == CURL_POLL_REMOVE) {
    if (socketp != nullptr) {
      // Fails harmlessly when curl closed the socket first (epoll forgets a
      // closed descriptor by itself).
      epoll_ctl(self->epoll_fd_, EPOLL_CTL_DEL, s, nullptr);
      curl_multi_assign(self->multi_, s, nullptr);
    }
    return 0;
  }
  self->Watch(s, what, socketp != nullptr);
  if (socketp == nullptr) curl_multi_assign(self->multi_, s, &kWatched);
  return 0;
}

void CurlSocketDriver::Watch(curl_socket_t s, int what, bool known) {
  epoll_event ev{};
  ev.events =
      ((what & CURL_POLL_IN) != 0 ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) != 0 ? EPOLLOUT : 0u);
  ev.data.fd = s;
  if (epoll_ctl(epoll_fd_, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) == 0) return;
  // A descriptor number curl reused after closing the old socket without
  // telling us (ENOENT on MOD), or one still in the set (EEXIST on ADD).
  if (errno == ENOENT) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, s, &ev);
  } else if (errno == EEXIST) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, s, &ev);
  }
}

int CurlSocketDriver::OnTimer(CURLM*, long timeout_ms, void* driver) {
  auto* self = static_cast<CurlSocketDriver*>(driver);
  self->timer_ = timeout_ms < 0    ? absl::InfiniteFuture()
                 : timeout_ms == 0 ? absl::InfinitePast()
                                   : absl::Now() + absl::Milliseconds(timeout_ms);
  return 0;
}

void CurlSocketDriver::RunDueTimers() {
  for (int i = 0; i < kMaxTimerRunsPerCall; ++i) {
    if (timer_ == absl::InfiniteFuture()) return;
    if (timer_ != absl::InfinitePast() && timer_ > absl::Now()) return;
    timer_ = absl::InfiniteFuture();
    int running = 0;
    curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
  }
}

void CurlSocketDriver::Dispatch() {
  for (int i = 0; i < ready_count_; ++i) {
    const epoll_event& ev = ready_[i];
    if (ev.data.fd == wake_fd_) {
      std::uint64_t count = 0;
      (void)!read(wake_fd_, &count, sizeof count);
      continue;
    }
    // An error or hang-up is handed to curl as readable (and writable while
    // it connects): its own read or connect check then reports what happened,
    // so a reused connection found closed is retried as curl does.
    int mask = 0;
    if ((ev.events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) mask |= CURL_CSELECT_IN;
    if ((ev.events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) mask |= CURL_CSELECT_OUT;
    int running = 0;
    curl_multi_socket_action(multi_, ev.data.fd, mask, &running);
  }
  ready_count_ = 0;
}

void CurlSocketDriver::Wait(int timeout_ms) {
  int n = epoll_wait(epoll_fd_, ready_.data(), static_cast<int>(ready_.size()), timeout_ms);
  ready_count_ = n > 0 ? n : 0;
}

void CurlSocketDriver::Wake() {
  const std::uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
}

}  // namespace leafsvc::http
