// A hostile upstream for the dead-keep-alive case: on each connection it
// answers the first request (200 with a fixed JSON body, keep-alive) and
// then goes silent on that connection (reads further requests, never
// answers, never closes), as a connection silently dropped by a middlebox
// or a hung Leaf worker would. New connections are answered again.
#ifndef TESTS_HTTP_SILENT_UPSTREAM_H_
#define TESTS_HTTP_SILENT_UPSTREAM_H_

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace leafsvc::http::testing {

class SilentUpstream {
 public:
  explicit SilentUpstream(std::string body);
  ~SilentUpstream();

  // Binds 127.0.0.1 on a free port and starts accepting; false on failure.
  bool Start();
  int port() const { return port_; }
  int connections() const { return connections_.load(); }
  int answered() const { return answered_.load(); }
  int ignored() const { return ignored_.load(); }

 private:
  void Accept();
  void Serve(int fd);

  const std::string body_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> answered_{0};
  std::atomic<int> ignored_{0};
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace leafsvc::http::testing

#endif  // TESTS_HTTP_SILENT_UPSTREAM_H_
