// Helpers for the transport's tests: an httplib server on 127.0.0.1, a
// one-shot callback result, a TSan-friendly notification.
#ifndef TESTS_HTTP_HTTP_TEST_UTIL_H_
#define TESTS_HTTP_HTTP_TEST_UTIL_H_

#include <httplib.h>

#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/http/http_client.h"

namespace leafsvc::http::testing {

inline constexpr absl::Duration kWait = absl::Seconds(5);

// Like Notification, but on std::mutex so that ThreadSanitizer
// understands it (the system abseil lacks TSan annotations).
class Notification {
 public:
  void Notify() {
    std::lock_guard<std::mutex> lock(mu_);
    notified_ = true;
    cv_.notify_all();
  }
  bool HasBeenNotified() {
    std::lock_guard<std::mutex> lock(mu_);
    return notified_;
  }
  bool WaitForNotificationWithTimeout(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout), [this] { return notified_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool notified_ = false;
};

// Runs an httplib server on 127.0.0.1 on its own thread.
template <typename Server>
class TestServer {
 public:
  template <typename... Args>
  explicit TestServer(Args&&... args) : server_(std::forward<Args>(args)...) {
    server_.set_keep_alive_max_count(100000);
    // Else Nagle plus delayed ACKs stall each reused-connection response
    // (httplib writes headers and body separately) by ~40 ms.
    server_.set_tcp_nodelay(true);
    // Each keep-alive connection pins one worker thread.
    server_.new_task_queue = [] { return new httplib::ThreadPool(32); };
  }
  ~TestServer() { Stop(); }

  Server& server() { return server_; }
  int port() const { return port_; }

  bool Start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) return false;
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    const absl::Time give_up = absl::Now() + kWait;
    while (!server_.is_running()) {
      if (absl::Now() > give_up) return false;
      absl::SleepFor(absl::Milliseconds(1));
    }
    return true;
  }

  void Stop() {
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }

 private:
  Server server_;
  int port_ = 0;
  std::thread thread_;
};

// Waits for one callback, with a timeout so that a bug fails the test.
class Result {
 public:
  HttpCallback Callback() {
    return [state = state_](absl::StatusOr<HttpResponse> result) {
      state->promise.set_value(std::move(result));
    };
  }
  absl::StatusOr<HttpResponse> Get(absl::Duration timeout = kWait) {
    if (future_.wait_for(absl::ToChronoMilliseconds(timeout)) != std::future_status::ready) {
      return absl::UnknownError("test: callback did not run in time");
    }
    return future_.get();
  }

 private:
  struct State {
    std::promise<absl::StatusOr<HttpResponse>> promise;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
  std::future<absl::StatusOr<HttpResponse>> future_ = state_->promise.get_future();
};

// A port on which nothing listens (bound, then closed).
int ClosedPort();

}  // namespace leafsvc::http::testing

#endif  // TESTS_HTTP_HTTP_TEST_UTIL_H_
