// The one HTTP server of the service for everything that is not gRPC (the
// Leaf alert webhook, the metrics endpoint), on GNU libmicrohttpd, built to
// face a hostile network:
//   - one event loop thread per listener; handlers run on it and must not
//     block, so slow peers hold no worker (there are none to hold);
//   - connection limits in all and per source address (HttpLimits), a
//     deadline for each whole request that dripping bytes does not extend,
//     an idle keep-alive limit;
//   - a body cap per route enforced as bytes arrive, for Content-Length and
//     chunked bodies alike (413 before anything over the cap is buffered);
//   - ambiguous framing refused with 400: more than one Content-Length,
//     Content-Length with Transfer-Encoding, any coding but "chunked";
//   - accepted sockets come from accept4(), so the descriptor reserve of
//     server/platform/fd_limit.h counts them like gRPC's;
//   - async routes answer later, from any thread, without holding the loop:
//     the connection is suspended (libmicrohttpd's suspend/resume) until the
//     answer comes or the request deadline passes (then 503); how many wait
//     at once is bounded per listener and per source address;
//   - Stop() closes the listener and every connection at once, whatever the
//     peers do, suspended ones included.
// Every refusal is reported to on_refused with its reason (connection_table.h).
#ifndef SERVER_HTTPD_HTTP_SERVER_H_
#define SERVER_HTTPD_HTTP_SERVER_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/httpd/connection_table.h"
#include "server/httpd/http_limits.h"

struct MHD_Daemon;
struct MHD_Connection;

namespace leafsvc::httpd {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;
  std::string path;
  std::string peer_ip;
  HeaderList headers;  // as received
  HeaderList query;    // decoded query parameters
  std::string body;

  // The first header (or query parameter) named `name` (case-insensitive for
  // headers); null when absent.
  const std::string* Header(absl::string_view name) const;
  const std::string* Query(absl::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  HeaderList headers;  // added to the defaults (Cache-Control: no-store, nosniff)
};

struct Route {
  std::string method;  // "GET", "POST", ...
  // Exact path, or a prefix when it ends with '*' ("*" alone: any path).
  std::string path;
  // Larger bodies get 413; 0: the route takes no body.
  std::size_t max_body_bytes = 0;
  // Runs on the listener's loop thread: must not block.
  std::function<HttpResponse(const HttpRequest&)> handler;
  // Instead of `handler`, for answers that wait on Redis or an upstream: runs
  // on the loop thread, starts the work and returns; the request is only
  // valid during the call (copy what the work needs). `respond` may be called
  // from any thread, at most once counts (later calls are ignored); when the
  // peer left, the deadline passed (503 already sent) or the server stopped,
  // it does nothing. It keeps nothing of the server alive but a small mailbox.
  std::function<void(const HttpRequest&, std::function<void(HttpResponse)> respond)> async_handler;
};

struct HttpServerOptions {
  std::string name;    // in logs ("alerts", "metrics")
  std::string listen;  // host:port; port 0 picks one; empty host: all
  HttpLimits limits;
  std::vector<Route> routes;
  // Told every refused connection or request (reason from connection_table.h).
  std::function<void(absl::string_view reason)> on_refused;
  // Requests of async routes waiting for their answer at once, in all and
  // per source address; beyond either, 503 (kRefusedTooManyPending).
  int max_pending = 64;
  int max_pending_per_ip = 8;
  // Added to every answer of this listener, its own refusals (404, 405, 413,
  // 503, ...) included, unless the response sets a header of the same name:
  // e.g. the security headers of a listener serving pages.
  HeaderList extra_headers;
};

struct AsyncSlot;   // one suspended request (http_server.cc)
struct AsyncInbox;  // answers handed to the loop (http_server.cc)

class HttpServer {
 public:
  // Binds and starts the loop thread. INVALID_ARGUMENT for a bad address,
  // UNAVAILABLE when it cannot listen there.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(HttpServerOptions options);
  ~HttpServer();  // Stop()

  int port() const { return port_; }
  // Closes the listener and every connection; returns once done (a handler
  // running at that moment finishes first). Idempotent.
  void Stop();
  // Connections open now (read on any thread; updated by the loop).
  int connections() const { return open_connections_.load(); }
  // Requests of async routes waiting for their answer now.
  int pending() const { return pending_count_.load(); }

 private:
  explicit HttpServer(HttpServerOptions options);
  void Loop();
  void Refuse(absl::string_view reason);
  // Loop thread: suspends `connection` for an async route (false: over the
  // limits, nothing suspended).
  bool Suspend(MHD_Connection* connection, const std::shared_ptr<AsyncSlot>& slot);
  // Loop thread (or Stop() after the loop): takes `slot` out of the waiting
  // set and resumes its connection, whose access handler then queues the
  // answer.
  // `with_answer` false only in Stop(): the connection is closed unanswered.
  void Resume(const std::shared_ptr<AsyncSlot>& slot, bool with_answer);
  // Takes `slot` out of the waiting set; false when it was not in it.
  bool Forget(const std::shared_ptr<AsyncSlot>& slot);
  void ResumeAnswered();
  void AnswerOverdue(absl::Time now);
  absl::Time NextPendingDeadline() const;

  friend struct MhdCallbacks;  // libmicrohttpd's callbacks (http_server.cc)

  const HttpServerOptions options_;
  ConnectionTable table_;  // loop thread only (and Stop() after the loop ended)
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<int> open_connections_{0};
  std::shared_ptr<AsyncInbox> inbox_;
  // Suspended connections (loop thread only, and Stop() after the loop).
  std::unordered_map<MHD_Connection*, std::shared_ptr<AsyncSlot>> pending_;
  std::unordered_map<std::string, int> pending_per_ip_;
  std::atomic<int> pending_count_{0};
};

// Splits "host:port" ("[v6]:port" too); INVALID_ARGUMENT naming `flag`.
absl::StatusOr<std::pair<std::string, int>> ParseListenAddress(absl::string_view listen,
                                                               absl::string_view flag);

}  // namespace leafsvc::httpd

#endif  // SERVER_HTTPD_HTTP_SERVER_H_
