// How an async route's answer travels back to its listener's loop
// (http_server.h): the slot of one suspended request and the inbox the loop
// drains. Internal to server/httpd.
#ifndef SERVER_HTTPD_ASYNC_ANSWER_H_
#define SERVER_HTTPD_ASYNC_ANSWER_H_

#include <unistd.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/httpd/http_server.h"

namespace leafsvc::httpd {

// One request of an async route, from its suspension to its answer. Shared by
// the request's state (loop thread) and the `respond` callback (any thread),
// so a late answer finds the slot even when the connection is long gone.
struct AsyncSlot {
  std::mutex mu;
  bool responded = false;  // guarded by mu: the first answer (or the 503) won
  HttpResponse response;   // guarded by mu

  // Loop thread only.
  MHD_Connection* connection = nullptr;
  std::string ip;
  absl::Time deadline;
  bool ready = false;  // resumed with its answer: the access handler queues it
};

// Answers travel to the loop thread through here: `respond` never touches
// libmicrohttpd, so it is safe on any thread and after the server is gone.
struct AsyncInbox {
  std::mutex mu;
  bool closed = false;  // the server stopped: answers are dropped
  int wake_fd = -1;
  std::vector<std::shared_ptr<AsyncSlot>> answered;

  void Post(std::shared_ptr<AsyncSlot> slot) {
    std::lock_guard<std::mutex> lock(mu);
    if (closed) return;
    answered.push_back(std::move(slot));
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wake_fd, &one, sizeof(one));
  }
};

}  // namespace leafsvc::httpd

#endif  // SERVER_HTTPD_ASYNC_ANSWER_H_
