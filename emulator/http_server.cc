#include "emulator/http_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "emulator/problem.h"

namespace leafemu {
namespace {

int SocketPort(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
  return -1;
}

// Shuts down (both directions) every connected socket of this process whose
// local port is `local_port` and, unless `remote_port` is -1, whose peer port
// is `remote_port`: the server side of the emulator's connections. Returns
// how many. httplib does not hand sockets to handlers, so they are found
// through /proc/self/fd. Each candidate is dup()ed first and checked and
// shut down through the duplicate, so a descriptor that another thread
// closes and reuses meanwhile can never make us touch an unrelated socket.
int ShutdownServerSockets(int local_port, int remote_port) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  std::vector<int> fds;
  while (dirent* entry = readdir(dir)) {
    int fd;
    if (absl::SimpleAtoi(entry->d_name, &fd) && fd != dirfd(dir)) fds.push_back(fd);
  }
  closedir(dir);
  int count = 0;
  for (int fd : fds) {
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) continue;
    struct stat st;
    sockaddr_storage local{}, peer{};
    socklen_t local_len = sizeof(local), peer_len = sizeof(peer);
    if (fstat(dup_fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
        getsockname(dup_fd, reinterpret_cast<sockaddr*>(&local), &local_len) == 0 &&
        getpeername(dup_fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0 &&
        SocketPort(local) == local_port && (remote_port < 0 || SocketPort(peer) == remote_port)) {
      shutdown(dup_fd, SHUT_RDWR);
      ++count;
    }
    close(dup_fd);
  }
  return count;
}

std::string ConnectHost(const std::string& host) {
  if (host.empty() || host == "0.0.0.0") return "127.0.0.1";
  if (host == "::") return "::1";
  return host;
}

std::string UrlHost(const std::string& host) {
  std::string h = ConnectHost(host);
  if (absl::StrContains(h, ':')) return absl::StrCat("[", h, "]");
  return h;
}

// httplib::Server with access to its listening socket: the library is
// compiled with a listen backlog of 5, too small for tests that open dozens
// of connections at once (dropped SYNs cost a 1 s retransmit).
template <typename Base>
class WithBacklog : public Base {
 public:
  using Base::Base;
  void EnlargeBacklog(int backlog) {
    socket_t sock = this->svr_sock_;
    if (sock != INVALID_SOCKET) ::listen(sock, backlog);
  }
};

}  // namespace

HttpServer::HttpServer(const EmulatorOptions& options, std::string probe_path, Handler handler)
    : options_(options), probe_path_(std::move(probe_path)), handler_(std::move(handler)) {}

HttpServer::~HttpServer() { Stop(); }

std::string HttpServer::base_url() const {
  return absl::StrCat(options_.tls_cert_file.empty() ? "http://" : "https://",
                      UrlHost(options_.host), ":", port_);
}

absl::Status HttpServer::Start() {
  // Writes to a connection the client already closed must not kill the
  // process (httplib sends without MSG_NOSIGNAL).
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
    signal(SIGPIPE, SIG_IGN);
  }

  if (options_.tls_cert_file.empty()) {
    auto plain = std::make_unique<WithBacklog<httplib::Server>>();
    enlarge_backlog_ = [p = plain.get()](int backlog) { p->EnlargeBacklog(backlog); };
    server_ = std::move(plain);
  } else {
    auto tls = std::make_unique<WithBacklog<httplib::SSLServer>>(options_.tls_cert_file.c_str(),
                                                                 options_.tls_key_file.c_str());
    if (!tls->is_valid()) {
      return absl::InvalidArgumentError(absl::StrCat("cannot load the TLS certificate ",
                                                     options_.tls_cert_file, " and key ",
                                                     options_.tls_key_file));
    }
    enlarge_backlog_ = [p = tls.get()](int backlog) { p->EnlargeBacklog(backlog); };
    server_ = std::move(tls);
  }

  size_t threads = static_cast<size_t>(std::max(4, options_.thread_pool_size));
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // httplib's default also sets SO_REUSEPORT, which would let a second
  // emulator silently share a port that is already in use.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server_->set_tcp_nodelay(true);
  server_->set_keep_alive_max_count(1000);
  server_->set_keep_alive_timeout(
      std::max<time_t>(1, static_cast<time_t>(absl::ToInt64Seconds(options_.keep_alive_timeout))));
  server_->set_read_timeout(10, 0);
  server_->set_write_timeout(10, 0);

  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    handler_(req, res);
  };
  server_->Get(".*", handler);
  server_->Post(".*", handler);
  server_->Put(".*", handler);
  server_->Patch(".*", handler);
  server_->Delete(".*", handler);
  server_->Options(".*", handler);
  server_->set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
        Problem p;
        p.status = 500;
        p.detail = "Emulator error";
        SendProblem(req, res, p);
      });

  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host);
    if (port_ <= 0) {
      return absl::UnavailableError(
          absl::StrCat("leaf emulator: cannot bind ", options_.host, ":0"));
    }
  } else {
    if (!server_->bind_to_port(options_.host, options_.port)) {
      return absl::UnavailableError(
          absl::StrCat("leaf emulator: cannot bind ", options_.host, ":", options_.port));
    }
    port_ = options_.port;
  }
  enlarge_backlog_(1024);
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    listen_returned_ = true;
  });
  started_ = true;

  // Ready once the accept loop runs and a request gets an answer.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!server_->is_running() && !listen_returned_ && absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  httplib::Client probe(absl::StrCat(options_.tls_cert_file.empty() ? "http://" : "https://",
                                     UrlHost(ConnectHost(options_.host)), ":", port_));
  // The probe only checks that this very server answers; its certificate
  // may come from a private CA.
  probe.enable_server_certificate_verification(false);
  probe.set_connection_timeout(0, 200000);
  probe.set_read_timeout(1, 0);
  while (absl::Now() < deadline) {
    auto r = probe.Get(probe_path_);
    if (r && r->status == 200) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Stop();
  return absl::DeadlineExceededError("leaf emulator did not become ready");
}

void HttpServer::Stop() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
  if (!started_) return;
  started_ = false;
  {
    std::lock_guard<std::mutex> l(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  // httplib's stop() is a no-op until the accept loop runs.
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!server_->is_running() && !listen_returned_ && absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  server_->stop();
  // Idle keep-alive connections would otherwise hold their worker (and so
  // the join below) for up to the keep-alive timeout.
  ShutdownServerSockets(port_, -1);
  if (thread_.joinable()) thread_.join();
}

bool HttpServer::SleepUnlessStopping(absl::Duration d) {
  std::unique_lock<std::mutex> l(stop_mu_);
  // Capped so that an "infinite" latency cannot overflow the clock.
  d = std::min(d, absl::Hours(24));
  return !stop_cv_.wait_for(l, absl::ToChronoNanoseconds(d), [this] { return stopping_.load(); });
}

void HttpServer::CutConnection(const httplib::Request& req, httplib::Response& res) {
  // No response at all: the client sees the connection end. httplib's own
  // write then fails and it closes the socket.
  ShutdownServerSockets(req.local_port > 0 ? req.local_port : port_, req.remote_port);
  // Fallback (socket not found) and belt and braces: a body provider that
  // fails before writing anything makes httplib close the connection.
  res.status = 200;
  res.set_content_provider(1, kJson, [](size_t, size_t, httplib::DataSink&) { return false; });
}

}  // namespace leafemu
