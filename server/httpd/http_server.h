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
//   - Stop() closes the listener and every connection at once, whatever the
//     peers do.
// Every refusal is reported to on_refused with its reason (connection_table.h).
#ifndef SERVER_HTTPD_HTTP_SERVER_H_
#define SERVER_HTTPD_HTTP_SERVER_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>
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
};

struct HttpServerOptions {
  std::string name;    // in logs ("alerts", "metrics")
  std::string listen;  // host:port; port 0 picks one; empty host: all
  HttpLimits limits;
  std::vector<Route> routes;
  // Told every refused connection or request (reason from connection_table.h).
  std::function<void(absl::string_view reason)> on_refused;
};

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

 private:
  explicit HttpServer(HttpServerOptions options);
  void Loop();
  void Refuse(absl::string_view reason);

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
};

// Splits "host:port" ("[v6]:port" too); INVALID_ARGUMENT naming `flag`.
absl::StatusOr<std::pair<std::string, int>> ParseListenAddress(absl::string_view listen,
                                                               absl::string_view flag);

}  // namespace leafsvc::httpd

#endif  // SERVER_HTTPD_HTTP_SERVER_H_
