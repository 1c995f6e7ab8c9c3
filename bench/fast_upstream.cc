#include "bench/fast_upstream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <queue>
#include <string_view>

namespace bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kCredentialsPrefix = "/services/usermanagement/api/users/";
constexpr std::string_view kCredentialsSuffix = "/ag-leader-credentials";
constexpr std::string_view kEventsSuffix = "/ag-leader-credentials/events";
constexpr std::size_t kMaxHeaderBytes = 64 * 1024;

std::string MakeResponse(int status, std::string_view reason, std::string_view content_type,
                         std::string_view body) {
  std::string r = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  // Headers of the kind Leaf's gateway sends (it sends more).
  r += "Content-Type: " + std::string(content_type) + "\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r += "Cache-Control: no-cache, no-store, max-age=0, must-revalidate\r\n";
  r += "Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers\r\n";
  r += "X-Content-Type-Options: nosniff\r\n";
  r += "X-Frame-Options: DENY\r\n";
  r += "\r\n";
  r += body;
  return r;
}

const std::string& CredentialsResponse() {
  static const std::string* r =
      new std::string(MakeResponse(200, "OK", "application/json", FastUpstreamCredentialsBody()));
  return *r;
}

const std::string& UnauthenticatedCredentialsResponse() {
  static const std::string* r = new std::string(
      MakeResponse(200, "OK", "application/json", FastUpstreamUnauthenticatedBody()));
  return *r;
}

std::string ProblemBody(int status, std::string_view title) {
  return "{\"type\":\"https://www.jhipster.tech/problem/problem-with-message\",\"title\":\"" +
         std::string(title) + "\",\"status\":" + std::to_string(status) + "}";
}

const std::string& UnauthorizedResponse() {
  static const std::string* r = new std::string(MakeResponse(
      401, "Unauthorized", "application/problem+json", ProblemBody(401, "Unauthorized")));
  return *r;
}

const std::string& NotFoundResponse() {
  static const std::string* r = new std::string(
      MakeResponse(404, "Not Found", "application/problem+json", ProblemBody(404, "Not Found")));
  return *r;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char a = s[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (a != prefix[i]) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

struct FastUpstream::Shared {
  std::string events_response;  // built once by Start
  std::atomic<int> delay_ms{0};
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> requests{0};
  std::atomic<std::int64_t> accepted{0};
  std::atomic<std::int64_t> open{0};
  std::atomic<std::int64_t> max_open{0};
  // Requests for the changing users, per ChangingSlot.
  std::atomic<std::int64_t> changing_reads[kChangingSlots] = {};

  void Opened() {
    accepted.fetch_add(1, std::memory_order_relaxed);  // connections that carried traffic
    const std::int64_t now = open.fetch_add(1, std::memory_order_relaxed) + 1;
    std::int64_t seen = max_open.load(std::memory_order_relaxed);
    while (now > seen && !max_open.compare_exchange_weak(seen, now)) {
    }
  }
  void Closed() { open.fetch_sub(1, std::memory_order_relaxed); }
};

namespace {

// One epoll loop: its own listening socket (SO_REUSEPORT) and connections.
class Loop {
 public:
  Loop(FastUpstream::Shared* shared, int listen_fd, int wake_fd)
      : shared_(shared), listen_fd_(listen_fd), wake_fd_(wake_fd) {}

  void Run() {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    // Delayed responses are due at precise times: a timerfd (CLOCK_MONOTONIC,
    // as steady_clock) rather than epoll_wait's millisecond timeout.
    timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    Watch(listen_fd_, EPOLLIN, EPOLL_CTL_ADD);
    Watch(wake_fd_, EPOLLIN, EPOLL_CTL_ADD);
    Watch(timer_fd_, EPOLLIN, EPOLL_CTL_ADD);
    epoll_event events[256];
    while (!shared_->stop.load(std::memory_order_relaxed)) {
      ArmTimer();
      const int n = epoll_wait(epoll_, events, 256, -1);
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == listen_fd_) {
          Accept();
        } else if (fd == wake_fd_ || fd == timer_fd_) {
          std::uint64_t v;
          (void)!read(fd, &v, sizeof v);
        } else {
          OnEvent(fd, events[i].events);
        }
      }
      FireTimers();
    }
    for (std::size_t fd = 0; fd < conns_.size(); ++fd) {
      if (conns_[fd] != nullptr) Close(static_cast<int>(fd));
    }
    close(timer_fd_);
    close(epoll_);
  }

 private:
  struct Conn {
    std::string in;
    std::string out;
    std::size_t out_off = 0;
    bool waiting = false;  // a delayed response is pending
    bool close_after = false;
    bool want_out = false;
    bool counted = false;  // counted as open: served a non-control request
    std::uint64_t gen = 0;
  };
  struct Timer {
    Clock::time_point due;
    int fd;
    std::uint64_t gen;
    bool operator>(const Timer& o) const { return due > o.due; }
  };

  // Points the timerfd at the earliest pending delayed response.
  void ArmTimer() {
    if (timers_.empty() || timers_.top().due == armed_for_) return;
    armed_for_ = timers_.top().due;
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(armed_for_.time_since_epoch()).count();
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(ns / 1000000000);
    spec.it_value.tv_nsec = static_cast<long>(ns % 1000000000);
    if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
    timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
  }

  void Watch(int fd, std::uint32_t events, int op) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    epoll_ctl(epoll_, op, fd, &ev);
  }

  void Accept() {
    for (;;) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (static_cast<std::size_t>(fd) >= conns_.size()) conns_.resize(fd + 1);
      conns_[fd] = std::make_unique<Conn>();
      conns_[fd]->gen = ++next_gen_;
      Watch(fd, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_ADD);
    }
  }

  void Close(int fd) {
    epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    if (conns_[fd]->counted) shared_->Closed();
    conns_[fd].reset();
  }

  void OnEvent(int fd, std::uint32_t events) {
    if (static_cast<std::size_t>(fd) >= conns_.size() || conns_[fd] == nullptr) return;
    Conn& c = *conns_[fd];
    if (events & (EPOLLERR | EPOLLHUP)) return Close(fd);
    if (events & EPOLLOUT) {
      if (!Flush(fd, c)) return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP)) {
      char buf[16384];
      for (;;) {
        const ssize_t r = read(fd, buf, sizeof buf);
        if (r > 0) {
          c.in.append(buf, static_cast<std::size_t>(r));
          if (r < static_cast<ssize_t>(sizeof buf)) break;
          continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EINTR)) return Close(fd);
        if (errno == EAGAIN) break;
      }
      if (!Process(fd, c)) return;
      Flush(fd, c);
    }
  }

  // Parses and answers every complete request in `c.in`. False if closed.
  bool Process(int fd, Conn& c) {
    std::size_t consumed = 0;
    while (!c.waiting && !c.close_after) {
      std::string_view in(c.in);
      in.remove_prefix(consumed);
      const std::size_t end = in.find("\r\n\r\n");
      if (end == std::string_view::npos) {
        if (in.size() > kMaxHeaderBytes) {
          Close(fd);
          return false;
        }
        break;
      }
      std::string_view head = in.substr(0, end);
      std::size_t content_length = 0;
      bool authorized = false;
      std::string_view request_line = head.substr(0, head.find("\r\n"));
      std::size_t pos = request_line.size();
      while (pos < head.size()) {
        pos += 2;  // "\r\n"
        std::size_t eol = head.find("\r\n", pos);
        if (eol == std::string_view::npos) eol = head.size();
        std::string_view line = head.substr(pos, eol - pos);
        if (StartsWithNoCase(line, "content-length:")) {
          content_length = std::strtoul(std::string(Trim(line.substr(15))).c_str(), nullptr, 10);
        } else if (StartsWithNoCase(line, "authorization:")) {
          authorized = StartsWithNoCase(Trim(line.substr(14)), "bearer ");
        } else if (StartsWithNoCase(line, "connection:")) {
          c.close_after = StartsWithNoCase(Trim(line.substr(11)), "close");
        }
        pos = eol;
      }
      if (in.size() < end + 4 + content_length) break;  // body not complete yet
      consumed += end + 4 + content_length;

      const std::size_t sp1 = request_line.find(' ');
      const std::size_t sp2 = request_line.find(' ', sp1 + 1);
      if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) {
        Close(fd);
        return false;
      }
      std::string_view method = request_line.substr(0, sp1);
      std::string_view target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
      std::string_view path = target.substr(0, target.find('?'));
      std::string_view query =
          path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view();
      const bool control = path.substr(0, 8) == "/_bench/";
      if (!control && !c.counted) {
        // Connections count once they carry traffic, so that the control
        // requests that read the counters do not show up in them.
        c.counted = true;
        shared_->Opened();
      }
      if (!control) shared_->requests.fetch_add(1, std::memory_order_relaxed);

      if (method == "GET" && path.size() > kCredentialsPrefix.size() + kCredentialsSuffix.size() &&
          path.substr(0, kCredentialsPrefix.size()) == kCredentialsPrefix &&
          path.substr(path.size() - kCredentialsSuffix.size()) == kCredentialsSuffix) {
        if (!authorized) {
          c.out += UnauthorizedResponse();
          continue;
        }
        const std::string_view user =
            path.substr(kCredentialsPrefix.size(),
                        path.size() - kCredentialsPrefix.size() - kCredentialsSuffix.size());
        if (IsChangingUser(user)) {
          const bool flip = shared_->changing_reads[ChangingSlot(user)].fetch_add(1) % 2 == 1;
          c.out += flip ? UnauthenticatedCredentialsResponse() : CredentialsResponse();
          continue;
        }
        const int delay = shared_->delay_ms.load(std::memory_order_relaxed);
        if (delay > 0) {
          c.waiting = true;
          timers_.push(Timer{Clock::now() + std::chrono::milliseconds(delay), fd, c.gen});
        } else {
          c.out += CredentialsResponse();
        }
      } else if (method == "GET" && path.size() > kEventsSuffix.size() &&
                 path.substr(0, kCredentialsPrefix.size()) == kCredentialsPrefix &&
                 path.substr(path.size() - kEventsSuffix.size()) == kEventsSuffix) {
        c.out += authorized ? shared_->events_response : UnauthorizedResponse();
      } else if (path == "/_bench/delay") {
        int ms = 0;
        if (query.substr(0, 3) == "ms=") ms = std::atoi(std::string(query.substr(3)).c_str());
        shared_->delay_ms.store(ms, std::memory_order_relaxed);
        c.out += MakeResponse(200, "OK", "application/json",
                              "{\"delay_ms\":" + std::to_string(ms) + "}");
      } else if (path == "/_bench/stats") {
        c.out += MakeResponse(
            200, "OK", "application/json",
            "{\"requests\":" + std::to_string(shared_->requests.load()) +
                ",\"accepted\":" + std::to_string(shared_->accepted.load()) +
                ",\"open_connections\":" + std::to_string(shared_->open.load()) +
                ",\"max_open_connections\":" + std::to_string(shared_->max_open.load()) + "}");
      } else if (path == "/_bench/reset_stats") {
        shared_->requests.store(0);
        shared_->accepted.store(0);
        shared_->max_open.store(shared_->open.load());
        c.out += MakeResponse(200, "OK", "application/json", "{}");
      } else {
        c.out += NotFoundResponse();
      }
    }
    if (consumed == c.in.size()) {
      c.in.clear();
    } else if (consumed > 0) {
      c.in.erase(0, consumed);
    }
    return true;
  }

  // Writes what is pending. False if the connection was closed.
  bool Flush(int fd, Conn& c) {
    while (c.out_off < c.out.size()) {
      const ssize_t w = send(fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
      if (w > 0) {
        c.out_off += static_cast<std::size_t>(w);
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EAGAIN) {
        if (!c.want_out) {
          c.want_out = true;
          Watch(fd, EPOLLIN | EPOLLRDHUP | EPOLLOUT, EPOLL_CTL_MOD);
        }
        return true;
      }
      Close(fd);
      return false;
    }
    c.out.clear();
    c.out_off = 0;
    if (c.want_out) {
      c.want_out = false;
      Watch(fd, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
    }
    if (c.close_after && !c.waiting) {
      Close(fd);
      return false;
    }
    return true;
  }

  void FireTimers() {
    const Clock::time_point now = Clock::now();
    while (!timers_.empty() && timers_.top().due <= now) {
      const Timer t = timers_.top();
      timers_.pop();
      if (static_cast<std::size_t>(t.fd) >= conns_.size() || conns_[t.fd] == nullptr ||
          conns_[t.fd]->gen != t.gen) {
        continue;  // the connection went away meanwhile
      }
      Conn& c = *conns_[t.fd];
      c.waiting = false;
      c.out += CredentialsResponse();
      if (!Process(t.fd, c)) continue;  // requests that arrived meanwhile
      Flush(t.fd, c);
    }
  }

  FastUpstream::Shared* const shared_;
  const int listen_fd_;
  const int wake_fd_;
  int epoll_ = -1;
  int timer_fd_ = -1;
  Clock::time_point armed_for_{};
  std::vector<std::unique_ptr<Conn>> conns_;  // by fd
  std::uint64_t next_gen_ = 0;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
};

int Listen(const std::string& host, int port, std::string* error) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    *error = "not an IPv4 address: " + host;
    close(fd);
    return -1;
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 4096) != 0) {
    *error = "bind/listen " + host + ":" + std::to_string(port) + ": " + std::strerror(errno);
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

FastUpstream::FastUpstream() : shared_(std::make_unique<Shared>()) {}

std::unique_ptr<FastUpstream> FastUpstream::Start(const FastUpstreamOptions& options,
                                                  std::string* error) {
  std::unique_ptr<FastUpstream> server(new FastUpstream);
  server->shared_->delay_ms.store(options.delay_ms);
  server->shared_->events_response =
      MakeResponse(200, "OK", "application/json", FastUpstreamEventsBody(options.events));
  int port = options.port;
  for (int i = 0; i < std::max(1, options.threads); ++i) {
    const int fd = Listen(options.host, port, error);
    if (fd < 0) return nullptr;
    if (port == 0) {
      sockaddr_in addr{};
      socklen_t len = sizeof addr;
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
      port = ntohs(addr.sin_port);
    }
    server->listen_fds_.push_back(fd);
    server->wake_fds_.push_back(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  }
  server->port_ = port;
  for (std::size_t i = 0; i < server->listen_fds_.size(); ++i) {
    server->threads_.emplace_back([shared = server->shared_.get(), l = server->listen_fds_[i],
                                   w = server->wake_fds_[i]] { Loop(shared, l, w).Run(); });
  }
  return server;
}

FastUpstream::~FastUpstream() { Stop(); }

void FastUpstream::Stop() {
  shared_->stop.store(true);
  for (int fd : wake_fds_) {
    const std::uint64_t one = 1;
    (void)!write(fd, &one, sizeof one);
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  for (int fd : listen_fds_) close(fd);
  for (int fd : wake_fds_) close(fd);
  listen_fds_.clear();
  wake_fds_.clear();
}

void FastUpstream::SetDelayMs(int ms) { shared_->delay_ms.store(ms); }

FastUpstreamStats FastUpstream::Stats() const {
  FastUpstreamStats s;
  s.requests = shared_->requests.load();
  s.accepted = shared_->accepted.load();
  s.open_connections = shared_->open.load();
  s.max_open_connections = shared_->max_open.load();
  return s;
}

void FastUpstream::ResetStats() {
  shared_->requests.store(0);
  shared_->accepted.store(0);
  shared_->max_open.store(shared_->open.load());
}

}  // namespace bench
