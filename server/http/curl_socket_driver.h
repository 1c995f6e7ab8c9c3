// libcurl's multi_socket API driven from an epoll set of our own (one per
// CurlHttpClient), so that any thread holding the client's lock can start a
// transfer at once (curl_multi_socket_action), and only the answers wake the
// event-loop thread, which waits on the sockets curl asked for.
//
// curl tells us, through the two callbacks installed by Attach, which sockets
// to watch (epoll_ctl on our set) and when its next timeout is due (kept
// here). RunDueTimers and Dispatch call back into curl; they, and everything
// that calls curl with the multi handle, must run under the owner's lock. Wait
// runs on the loop thread without it; Wake is for any thread.
//
// Connections curl opens through ApplyTo's callbacks stay in the epoll set
// while they idle in curl's cache: a transfer that reuses one costs no
// epoll_ctl (a socket curl no longer wants that fires anyway, its peer having
// closed it, leaves the set then). Other sockets curl reports (a resolver's)
// leave the set as soon as curl no longer wants them.
//
// Not the owner of the multi handle: detach by destroying the driver after
// curl_multi_cleanup (which may still report sockets to remove).
#ifndef SERVER_HTTP_CURL_SOCKET_DRIVER_H_
#define SERVER_HTTP_CURL_SOCKET_DRIVER_H_

#include <curl/curl.h>
#include <sys/epoll.h>

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace leafsvc::http {

class CurlSocketDriver {
 public:
  CurlSocketDriver() = default;
  CurlSocketDriver(const CurlSocketDriver&) = delete;
  CurlSocketDriver& operator=(const CurlSocketDriver&) = delete;
  // Closes the epoll set and the wake-up descriptor.
  ~CurlSocketDriver();

  // Creates the epoll set and the wake-up eventfd and installs the socket and
  // timer callbacks on `multi`. Once, before any transfer is added.
  absl::Status Attach(CURLM* multi);

  // Has `easy` open and close its connections through the driver (which
  // then knows when a socket number is closed). Under the owner's lock, like
  // every call on a handle of the multi.
  CURLcode ApplyTo(CURL* easy) const;

  // ---- Under the owner's lock. ----

  // Runs curl's timeouts that are due (curl_multi_socket_action with
  // CURL_SOCKET_TIMEOUT): a transfer just added starts here, on the calling
  // thread. Bounded: a timer curl keeps re-arming at 0 is left for the loop.
  void RunDueTimers();
  // Hands the sockets the last Wait found ready to curl (and drains the
  // wake-up descriptor).
  void Dispatch();
  // When curl next wants RunDueTimers called; InfiniteFuture: no timer.
  absl::Time TimerDeadline() const { return timer_; }

  // ---- The loop thread, without the lock. ----

  // Waits up to `timeout_ms` (-1: forever) for a socket curl watches or a
  // Wake; what was found is kept for Dispatch.
  void Wait(int timeout_ms);

  // ---- Any thread. ----

  // Ends the loop's current or next Wait at once.
  void Wake();

 private:
  static int OnSocket(CURL* easy, curl_socket_t s, int what, void* driver, void* socketp);
  static int OnTimer(CURLM* multi, long timeout_ms, void* driver);
  static curl_socket_t OnOpen(void* driver, curlsocktype purpose, curl_sockaddr* address);
  static int OnClose(void* driver, curl_socket_t s);

  // What the epoll set holds for one descriptor, and what curl wants.
  struct Fd {
    std::uint32_t in_set = 0;  // the events registered; 0: not in the set
    bool wanted = false;       // curl watches it now
    bool ours = false;         // opened by OnOpen: OnClose will say when it closes
  };
  Fd& At(curl_socket_t s);
  void Watch(curl_socket_t s, std::uint32_t events);
  void Unwatch(curl_socket_t s);

  CURLM* multi_ = nullptr;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  absl::Time timer_ = absl::InfiniteFuture();  // under the owner's lock
  std::vector<Fd> fds_;                        // by descriptor; under the owner's lock
  // Filled by Wait, read by Dispatch (the loop thread only).
  std::array<epoll_event, 64> ready_{};
  int ready_count_ = 0;
};

}  // namespace leafsvc::http

#endif  // SERVER_HTTP_CURL_SOCKET_DRIVER_H_
