#include "server/httpd/http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/httpd/async_answer.h"
#include "server/observability/log.h"
#include "server/observability/log_throttle.h"

namespace leafsvc::httpd {

namespace {

// What one request has gathered between the access handler's calls.
struct RequestState {
  const Route* route = nullptr;
  std::string body;
  bool answered = false;            // a response is queued; the rest is discarded
  bool lingering = false;           // answered on the raw socket (see Access)
  std::shared_ptr<AsyncSlot> slot;  // an async route's request, while suspended
};

void WipeAndRelease(std::string& s) {
  std::fill(s.begin(), s.end(), '\0');
  std::string().swap(s);
}

// Writes a complete, small response straight to the connection's socket and
// closes its sending side.
void WriteRawAndHalfClose(MHD_Connection* connection, int status, absl::string_view text,
                          const HeaderList& extra) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (info == nullptr) return;
  const std::string body = absl::StrCat(text, "\n");
  std::string headers;
  for (const auto& [name, value] : extra) absl::StrAppend(&headers, name, ": ", value, "\r\n");
  const std::string raw = absl::StrCat(
      "HTTP/1.1 ", status, " ", MHD_get_reason_phrase_for(static_cast<unsigned int>(status)),
      "\r\nContent-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n", headers,
      "Connection: close\r\nContent-Length: ", body.size(), "\r\n\r\n", body);
  // Far below a socket's send buffer; a peer that has filled it gets less.
  [[maybe_unused]] ssize_t n =
      send(info->connect_fd, raw.data(), raw.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  shutdown(info->connect_fd, SHUT_WR);
}

// libmicrohttpd's own diagnostics (a peer's malformed request, a reset
// connection) are a peer's doing: debug level, a line per 10 s at most.
void MhdLog(void* cls, const char* fmt, va_list ap) {
  static LogThrottle throttle(LogLevel::kDebug, "HTTP listener: libmicrohttpd reported");
  char line[256];
  vsnprintf(line, sizeof(line), fmt, ap);
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  throttle.Note("libmicrohttpd", "detail", text);
}

std::string PeerIp(const struct sockaddr* addr) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (addr == nullptr) return "";
  if (addr->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, buf, sizeof(buf));
    return buf;
  }
  if (addr->sa_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a)) {
      inet_ntop(AF_INET, &a.s6_addr[12], buf, sizeof(buf));  // one peer, one key
    } else {
      inet_ntop(AF_INET6, &a, buf, sizeof(buf));
    }
    return buf;
  }
  return "";
}

bool RouteMatches(const Route& route, absl::string_view path) {
  if (!route.path.empty() && route.path.back() == '*') {
    return absl::StartsWith(path, absl::string_view(route.path).substr(0, route.path.size() - 1));
  }
  return route.path == path;
}

MHD_Result Queue(MHD_Connection* connection, const HttpResponse& r, bool close,
                 const HeaderList& extra) {
  MHD_Response* response = MHD_create_response_from_buffer(
      r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, "Content-Type", r.content_type.c_str());
  MHD_add_response_header(response, "Cache-Control", "no-store");
  MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
  for (const auto& header : extra) {
    // The response's own value wins (a page may set a stricter one).
    const bool own = std::any_of(r.headers.begin(), r.headers.end(), [&](const auto& h) {
      return absl::EqualsIgnoreCase(h.first, header.first);
    });
    if (!own) MHD_add_response_header(response, header.first.c_str(), header.second.c_str());
  }
  for (const auto& [name, value] : r.headers) {
    MHD_add_response_header(response, name.c_str(), value.c_str());
  }
  if (close) MHD_add_response_header(response, "Connection", "close");
  const MHD_Result queued = MHD_queue_response(connection, r.status, response);
  MHD_destroy_response(response);
  return queued;
}

HttpResponse Plain(int status, absl::string_view text) {
  HttpResponse r;
  r.status = status;
  r.body = absl::StrCat(text, "\n");
  return r;
}

struct HeaderScan {
  int content_lengths = 0;
  std::string content_length;
  int transfer_encodings = 0;
  std::string transfer_encoding;
  HeaderList* all = nullptr;
};

MHD_Result ScanHeader(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* scan = static_cast<HeaderScan*>(cls);
  const char* v = value == nullptr ? "" : value;
  if (absl::EqualsIgnoreCase(key, "Content-Length")) {
    ++scan->content_lengths;
    scan->content_length = v;
  } else if (absl::EqualsIgnoreCase(key, "Transfer-Encoding")) {
    ++scan->transfer_encodings;
    scan->transfer_encoding = v;
  }
  scan->all->emplace_back(key, v);
  return MHD_YES;
}

MHD_Result CollectQuery(void* cls, MHD_ValueKind, const char* key, const char* value) {
  static_cast<HeaderList*>(cls)->emplace_back(key, value == nullptr ? "" : value);
  return MHD_YES;
}

}  // namespace

const std::string* HttpRequest::Header(absl::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (absl::EqualsIgnoreCase(k, name)) return &v;
  }
  return nullptr;
}

const std::string* HttpRequest::Query(absl::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return &v;
  }
  return nullptr;
}

absl::StatusOr<std::pair<std::string, int>> ParseListenAddress(absl::string_view listen,
                                                               absl::string_view flag) {
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " must be host:port, got \"", listen, "\""));
  }
  std::string host(listen.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::make_pair(host, port);
}

// The callbacks libmicrohttpd calls, all on the listener's loop thread.
struct MhdCallbacks {
  static MHD_Result AcceptPolicy(void* cls, const struct sockaddr* addr, socklen_t) {
    auto* self = static_cast<HttpServer*>(cls);
    if (self->stopping_.load()) return MHD_NO;
    const char* refused = self->table_.Admit(PeerIp(addr));
    if (refused == nullptr) return MHD_YES;
    self->Refuse(refused);
    return MHD_NO;
  }

  static void NotifyConnection(void* cls, MHD_Connection* connection, void**,
                               MHD_ConnectionNotificationCode toe) {
    auto* self = static_cast<HttpServer*>(cls);
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
      const MHD_ConnectionInfo* fd =
          MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
      const MHD_ConnectionInfo* addr =
          MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
      self->table_.Opened(connection, fd == nullptr ? -1 : fd->connect_fd,
                          PeerIp(addr == nullptr ? nullptr : addr->client_addr), absl::Now());
    } else {
      self->table_.Closed(connection);
    }
    self->open_connections_.store(self->table_.size());
  }

  static void NotifyCompleted(void* cls, MHD_Connection* connection, void** con_cls,
                              MHD_RequestTerminationCode toe) {
    auto* self = static_cast<HttpServer*>(cls);
    auto* state = static_cast<RequestState*>(*con_cls);
    if (state != nullptr && state->slot != nullptr) {
      // Closed while suspended (only Stop() does that): forget it, so a late
      // answer finds no connection.
      auto it = self->pending_.find(connection);
      if (it != self->pending_.end() && it->second == state->slot) self->Forget(state->slot);
    }
    delete state;
    *con_cls = nullptr;
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) {
      self->table_.RequestDone(connection, absl::Now());
    }
  }

  static MHD_Result Access(void* cls, MHD_Connection* connection, const char* url,
                           const char* method, const char*, const char* upload_data,
                           size_t* upload_data_size, void** con_cls) {
    auto* self = static_cast<HttpServer*>(cls);
    auto* state = static_cast<RequestState*>(*con_cls);
    if (state == nullptr) return First(self, connection, url, method, con_cls);
    if (state->slot != nullptr) {
      // Called again after the resume: queue the answer (or, woken early,
      // keep waiting).
      if (!state->slot->ready) return MHD_YES;
      HttpResponse response;
      {
        std::lock_guard<std::mutex> lock(state->slot->mu);
        response = std::move(state->slot->response);
      }
      state->slot.reset();
      return Queue(connection, response, false, self->options_.extra_headers);
    }
    if (state->answered) {  // refused early: the rest of the body is dropped
      const bool body_done = *upload_data_size == 0;
      *upload_data_size = 0;
      // Answered on the raw socket: once the body has ended, close.
      return state->lingering && body_done ? MHD_NO : MHD_YES;
    }
    if (*upload_data_size > 0) {
      const size_t n = *upload_data_size;
      *upload_data_size = 0;
      if (state->body.size() + n > state->route->max_body_bytes) {
        // Over the cap as it arrives (a chunked body declares no length).
        // libmicrohttpd 0.9.75 takes no response in the middle of a body, so
        // the 413 is written on the socket here (nothing else is writing to
        // it while the request is being read), the sending side is closed,
        // and the rest is read and dropped until the peer stops or the
        // request deadline cuts it off (a lingering close, so a genuine
        // client sees the answer rather than a reset).
        state->answered = true;
        state->lingering = true;
        WipeAndRelease(state->body);
        self->Refuse(kRefusedBodyTooLarge);
        WriteRawAndHalfClose(connection, 413, "request body too large",
                             self->options_.extra_headers);
        return MHD_YES;
      }
      state->body.append(upload_data, n);
      return MHD_YES;
    }
    HttpRequest request;
    request.method = method;
    request.path = url;
    const MHD_ConnectionInfo* addr =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    request.peer_ip = PeerIp(addr == nullptr ? nullptr : addr->client_addr);
    HeaderScan scan;
    scan.all = &request.headers;
    MHD_get_connection_values(connection, MHD_HEADER_KIND, &ScanHeader, &scan);
    MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &CollectQuery, &request.query);
    request.body = std::move(state->body);
    state->answered = true;
    if (state->route->async_handler) {
      auto slot = std::make_shared<AsyncSlot>();
      slot->ip = request.peer_ip;
      if (!self->Suspend(connection, slot)) {
        self->Refuse(kRefusedTooManyPending);
        HttpResponse busy = Plain(503, "too many requests waiting; try again shortly");
        busy.headers.emplace_back("Retry-After", "1");
        return Queue(connection, busy, false, self->options_.extra_headers);
      }
      state->slot = slot;
      std::shared_ptr<AsyncInbox> inbox = self->inbox_;
      state->route->async_handler(request, [slot, inbox](HttpResponse response) {
        {
          std::lock_guard<std::mutex> lock(slot->mu);
          if (slot->responded) return;
          slot->responded = true;
          slot->response = std::move(response);
        }
        inbox->Post(slot);
      });
      WipeAndRelease(request.body);
      return MHD_YES;
    }
    const HttpResponse response = state->route->handler(request);
    return Queue(connection, response, false, self->options_.extra_headers);
  }

  static MHD_Result First(HttpServer* self, MHD_Connection* connection, const char* url,
                          const char* method, void** con_cls) {
    auto* state = new RequestState;
    *con_cls = state;
    HeaderList headers;
    HeaderScan scan;
    scan.all = &headers;
    MHD_get_connection_values(connection, MHD_HEADER_KIND, &ScanHeader, &scan);
    auto refuse = [&](const char* reason, int status, absl::string_view text) {
      state->answered = true;
      self->Refuse(reason);
      return Queue(connection, Plain(status, text), true, self->options_.extra_headers);
    };
    // Request smuggling's raw material: two lengths, or a length and a
    // coding, read differently by two parsers. Refused, not guessed.
    if (scan.content_lengths > 1) {
      return refuse(kRefusedBadFraming, 400, "more than one Content-Length header");
    }
    if (scan.transfer_encodings > 0 && scan.content_lengths > 0) {
      return refuse(kRefusedBadFraming, 400, "both Content-Length and Transfer-Encoding");
    }
    if (scan.transfer_encodings > 1 ||
        (scan.transfer_encodings == 1 &&
         !absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(scan.transfer_encoding), "chunked"))) {
      return refuse(kRefusedBadFraming, 400, "Transfer-Encoding other than chunked");
    }
    uint64_t length = 0;
    if (scan.content_lengths == 1 && !absl::SimpleAtoi(scan.content_length, &length)) {
      return refuse(kRefusedBadFraming, 400, "Content-Length is not a number");
    }
    const Route* path_match = nullptr;
    for (const Route& route : self->options_.routes) {
      if (!RouteMatches(route, url)) continue;
      path_match = &route;
      if (route.method == method) {
        state->route = &route;
        break;
      }
    }
    if (path_match == nullptr) return refuse(kRefusedNotFound, 404, "not found");
    if (state->route == nullptr) return refuse(kRefusedMethodNotAllowed, 405, "method not allowed");
    if (length > state->route->max_body_bytes ||
        (scan.transfer_encodings > 0 && state->route->max_body_bytes == 0)) {
      return refuse(kRefusedBodyTooLarge, 413, "request body too large");
    }
    state->body.reserve(static_cast<size_t>(length));
    return MHD_YES;
  }
};

HttpServer::HttpServer(HttpServerOptions options)
    : options_(std::move(options)),
      table_(options_.limits),
      inbox_(std::make_shared<AsyncInbox>()) {}

void HttpServer::Refuse(absl::string_view reason) {
  static LogThrottle throttle(LogLevel::kWarning, "HTTP listener refused requests");
  throttle.Note(reason, "listener", options_.name);
  if (options_.on_refused) options_.on_refused(reason);
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options) {
  const std::string flag = absl::StrCat(options.name, "_listen");
  absl::StatusOr<std::pair<std::string, int>> address = ParseListenAddress(options.listen, flag);
  if (!address.ok()) return address.status();
  auto [host, port] = *address;
  const bool v6 = host.find(':') != std::string::npos;
  sockaddr_storage storage{};
  socklen_t storage_len = 0;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host.c_str(), &a->sin6_addr) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, ": not an IPv6 address: ", host));
    }
    storage_len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&storage);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    if (host.empty() || host == "0.0.0.0") {
      a->sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (host == "localhost") {
      a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (inet_pton(AF_INET, host.c_str(), &a->sin_addr) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": host must be an IP address, got \"", host, "\""));
    }
    storage_len = sizeof(sockaddr_in);
  }
  const int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("socket() failed: errno ", errno));
  int yes = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  if (bind(fd, reinterpret_cast<sockaddr*>(&storage), storage_len) != 0 || listen(fd, 128) != 0) {
    const int err = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen, " (--", flag, "): ", strerror(err)));
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  const int bound_port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);

  std::unique_ptr<HttpServer> server(new HttpServer(std::move(options)));
  server->port_ = bound_port;
  server->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  const HttpLimits& limits = server->options_.limits;
  const unsigned int idle_seconds = static_cast<unsigned int>(
      std::max<int64_t>(1, absl::ToInt64Seconds(limits.idle_timeout + absl::Milliseconds(999))));
  server->inbox_->wake_fd = server->wake_fd_;
  // No internal thread: the loop below drives the daemon, so the deadlines
  // are enforced between its turns, on the same thread, race-free. Suspend
  // and resume both happen on that thread too (answers from other threads
  // arrive through the inbox).
  server->daemon_ = MHD_start_daemon(
      MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME, 0, &MhdCallbacks::AcceptPolicy,
      server.get(), &MhdCallbacks::Access, server.get(), MHD_OPTION_LISTEN_SOCKET, fd,
      // The table refuses first (and counts it); these are the backstops.
      MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned int>(limits.max_connections + 1),
      MHD_OPTION_CONNECTION_TIMEOUT, idle_seconds, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
      static_cast<size_t>(32 * 1024), MHD_OPTION_NOTIFY_CONNECTION, &MhdCallbacks::NotifyConnection,
      server.get(), MHD_OPTION_NOTIFY_COMPLETED, &MhdCallbacks::NotifyCompleted, server.get(),
      MHD_OPTION_EXTERNAL_LOGGER, &MhdLog, nullptr, MHD_OPTION_STRICT_FOR_CLIENT, 1,
      MHD_OPTION_END);
  if (server->daemon_ == nullptr || server->wake_fd_ < 0) {
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot start the HTTP listener on ", server->options_.listen));
  }
  server->thread_ = std::thread([s = server.get()] { s->Loop(); });
  Log(LogLevel::kInfo, "HTTP listener started",
      {{"listener", server->options_.name},
       {"listen", server->options_.listen},
       {"port", server->port_}});
  return server;
}

void HttpServer::Loop() {
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_EPOLL_FD);
  const int epoll_fd = info == nullptr ? -1 : info->epoll_fd;
  while (!stopping_.load()) {
    const absl::Time now = absl::Now();
    int64_t wait_ms = 1000;
    MHD_UNSIGNED_LONG_LONG mhd_ms = 0;
    if (MHD_get_timeout(daemon_, &mhd_ms) == MHD_YES) {
      wait_ms = std::min<int64_t>(wait_ms, static_cast<int64_t>(mhd_ms));
    }
    const absl::Time next = std::min(table_.NextDeadline(), NextPendingDeadline());
    if (next != absl::InfiniteFuture()) {
      wait_ms = std::min<int64_t>(wait_ms,
                                  std::max<int64_t>(0, absl::ToInt64Milliseconds(next - now) + 1));
    }
    pollfd fds[2] = {{epoll_fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    poll(fds, 2, static_cast<int>(wait_ms));
    if (stopping_.load()) break;
    if (fds[1].revents & POLLIN) {
      uint64_t count = 0;
      [[maybe_unused]] ssize_t n = read(wake_fd_, &count, sizeof(count));
    }
    // Resumed before the run, which then queues their answers this turn.
    ResumeAnswered();
    AnswerOverdue(absl::Now());
    MHD_run(daemon_);
    // Whole-request deadlines: an overdue connection is shut down (not
    // closed: its descriptor stays libmicrohttpd's), which it then sees as
    // the peer's end and closes on its next turn.
    for (int fd : table_.TakeOverdue(absl::Now())) {
      Refuse(kRefusedRequestTimeout);  // counted before the peer can see it
      if (fd >= 0) shutdown(fd, SHUT_RDWR);
    }
  }
}

void HttpServer::Stop() {
  if (stopped_.exchange(true)) return;
  stopping_.store(true);
  {
    // From now on answers are dropped (their connections are closed below).
    std::lock_guard<std::mutex> lock(inbox_->mu);
    inbox_->closed = true;
    inbox_->answered.clear();
  }
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
  }
  if (thread_.joinable()) thread_.join();
  // libmicrohttpd refuses to stop with connections still suspended: resume
  // them (no answer is queued: the access handler is not called again) so
  // that MHD_stop_daemon closes them with the rest.
  std::vector<std::shared_ptr<AsyncSlot>> pending;
  for (const auto& [connection, slot] : pending_) pending.push_back(slot);
  for (const auto& slot : pending) Resume(slot, /*with_answer=*/false);
  // Closes the listening socket and every connection, without waiting for
  // any peer (nothing is written or read any more).
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
  open_connections_.store(0);
  if (wake_fd_ >= 0) close(wake_fd_);
  wake_fd_ = -1;
  Log(LogLevel::kInfo, "HTTP listener stopped", {{"listener", options_.name}});
}

HttpServer::~HttpServer() { Stop(); }

}  // namespace leafsvc::httpd
