#include "server/http/curl_socket_driver.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace leafsvc::http {
namespace {

// curl re-arming its timer at 0 this many times in a row is left to the
// loop's next turn rather than spun on by whoever holds the lock.
constexpr int kMaxTimerRunsPerCall = 16;

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

CURLcode CurlSocketDriver::ApplyTo(CURL* easy) const {
  void* self = const_cast<CurlSocketDriver*>(this);
  CURLcode rc = curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &CurlSocketDriver::OnOpen);
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, self);
  if (rc == CURLE_OK) {
    rc = curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, &CurlSocketDriver::OnClose);
  }
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, self);
  return rc;
}

CurlSocketDriver::Fd& CurlSocketDriver::At(curl_socket_t s) {
  const std::size_t i = static_cast<std::size_t>(s);
  if (i >= fds_.size()) fds_.resize(std::max<std::size_t>(i + 1, fds_.size() * 2));
  return fds_[i];
}

curl_socket_t CurlSocketDriver::OnOpen(void* driver, curlsocktype purpose, curl_sockaddr* address) {
  const int s = socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  if (s < 0) return CURL_SOCKET_BAD;
  if (purpose == CURLSOCKTYPE_IPCXN) {
    // A descriptor number closed behind our back (by the kernel's own
    // bookkeeping, it left the set) starts afresh.
    static_cast<CurlSocketDriver*>(driver)->At(s) = Fd{0, false, true};
  }
  return s;
}

int CurlSocketDriver::OnClose(void* driver, curl_socket_t s) {
  auto* self = static_cast<CurlSocketDriver*>(driver);
  // Closing removes it from the epoll set.
  if (static_cast<std::size_t>(s) < self->fds_.size()) self->fds_[s] = Fd{};
  return close(s);
}

int CurlSocketDriver::OnSocket(CURL*, curl_socket_t s, int what, void* driver, void*) {
  auto* self = static_cast<CurlSocketDriver*>(driver);
  if (what == CURL_POLL_REMOVE) {
    Fd& fd = self->At(s);
    fd.wanted = false;
    // Ours stay in the set until they fire or close; others leave now (they
    // may be closed without OnClose, and their number reused).
    if (!fd.ours) self->Unwatch(s);
    return 0;
  }
  self->At(s).wanted = true;
  self->Watch(s, ((what & CURL_POLL_IN) != 0 ? EPOLLIN : 0u) |
                     ((what & CURL_POLL_OUT) != 0 ? EPOLLOUT : 0u));
  return 0;
}

void CurlSocketDriver::Watch(curl_socket_t s, std::uint32_t events) {
  Fd& fd = At(s);
  // Only for our own sockets is the record sure to follow the descriptor
  // (OnOpen and OnClose see every open and close); another one (a
  // resolver's) may have been closed and its number reused: always tell
  // the kernel.
  if (fd.ours && fd.in_set == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = s;
  const bool added = fd.in_set != 0;
  if (epoll_ctl(epoll_fd_, added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) != 0) {
    // Out of step with the kernel (a descriptor closed without OnClose and
    // its number reused, or one still in the set): set it either way.
    epoll_ctl(epoll_fd_, errno == ENOENT ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, s, &ev);
  }
  fd.in_set = events;
}

void CurlSocketDriver::Unwatch(curl_socket_t s) {
  Fd& fd = At(s);
  if (fd.in_set == 0) return;
  // Fails harmlessly when the socket was closed first.
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s, nullptr);
  fd.in_set = 0;
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
    const curl_socket_t s = ev.data.fd;
    if (!At(s).wanted) {
      // An idle connection in curl's cache fired (its peer closed it):
      // curl notices when it next looks; it leaves the set meanwhile.
      Unwatch(s);
      continue;
    }
    // An error or hang-up is handed to curl as readable (and writable while
    // it connects): its own read or connect check then reports what happened,
    // so a reused connection found closed is retried as curl does.
    int mask = 0;
    if ((ev.events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) mask |= CURL_CSELECT_IN;
    if ((ev.events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) mask |= CURL_CSELECT_OUT;
    int running = 0;
    curl_multi_socket_action(multi_, s, mask, &running);
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
