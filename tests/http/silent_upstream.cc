#include "tests/http/silent_upstream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <utility>

namespace leafsvc::http::testing {

SilentUpstream::SilentUpstream(std::string body) : body_(std::move(body)) {}

SilentUpstream::~SilentUpstream() {
  stop_ = true;
  if (listen_fd_ >= 0) shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : fds_) shutdown(fd, SHUT_RDWR);
  }
  for (std::thread& t : threads_) t.join();
  for (int fd : fds_) close(fd);
  if (listen_fd_ >= 0) close(listen_fd_);
}

bool SilentUpstream::Start() {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  if (listen_fd_ < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
  if (listen(listen_fd_, 64) != 0) return false;
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { Accept(); });
  return true;
}

void SilentUpstream::Accept() {
  while (!stop_) {
    const int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    ++connections_;
    std::lock_guard<std::mutex> lock(mu_);
    fds_.push_back(fd);
    threads_.emplace_back([this, fd] { Serve(fd); });
  }
}

void SilentUpstream::Serve(int fd) {
  std::string buffer;
  bool answered_once = false;
  char chunk[4096];
  while (!stop_) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) return;
    buffer.append(chunk, static_cast<size_t>(n));
    // Requests here have no body: each ends with a blank line.
    for (size_t end; (end = buffer.find("\r\n\r\n")) != std::string::npos;) {
      buffer.erase(0, end + 4);
      if (answered_once) {
        ++ignored_;
        continue;  // silent from now on
      }
      answered_once = true;
      ++answered_;
      const std::string response =
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n"
          "Content-Length: " +
          std::to_string(body_.size()) + "\r\n\r\n" + body_;
      if (write(fd, response.data(), response.size()) < 0) return;
    }
  }
}

}  // namespace leafsvc::http::testing
