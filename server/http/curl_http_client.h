// HttpClient over the libcurl multi_socket interface. A transfer starts on
// the thread that calls Send (curl_multi_socket_action under the client's
// lock), so a request leaves without waking another thread; one event-loop
// thread waits on the sockets curl asked for (epoll, CurlSocketDriver), reads
// the answers and runs the callbacks. Connections are pooled and reused.
//
// Send and Cancel never block, on the network or on the lock, so gRPC
// callback threads may call them: when the lock is taken, Send leaves the
// transfer to the loop, which takes it before it sleeps.
// Every callback runs on the loop thread, outside internal locks, so it may
// call Send or Cancel again; it must not block and must not destroy the
// client.
//
// Requests use HTTP/1.1, never follow redirects, never send
// "Expect: 100-continue", and always verify TLS peers and host names.
#ifndef SERVER_HTTP_CURL_HTTP_CLIENT_H_
#define SERVER_HTTP_CURL_HTTP_CLIENT_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/http/http_client.h"

namespace leafsvc::http {

struct CurlHttpClientOptions {
  // Longest time to establish a TCP (+TLS) connection.
  absl::Duration connect_timeout = absl::Seconds(5);
  // Responses larger than this are abandoned with RESOURCE_EXHAUSTED, without
  // buffering more than this many bytes.
  std::size_t max_response_bytes = 4 << 20;
  // Most simultaneous connections to one host (CURLMOPT_MAX_HOST_CONNECTIONS);
  // further transfers to it wait for a free connection.
  int max_connections_per_host = 64;
  // Extra PEM CA bundle to trust for https, besides the system store. Read
  // once by Create (which fails if it holds no certificate); with curl's
  // OpenSSL backend its certificates are added to each new connection's
  // default store. With another TLS backend, or when curl's default store is
  // missing, it is passed as CURLOPT_CAINFO and replaces the default instead.
  std::string ca_file;
  // User-Agent header sent with every request.
  std::string user_agent = "leaf-agleader-credentials/1";
};

class CurlHttpClient final : public HttpClient {
 public:
  // Starts the event-loop thread. Fails with INVALID_ARGUMENT on bad options
  // (including an unreadable ca_file), INTERNAL if libcurl cannot start.
  static absl::StatusOr<std::unique_ptr<CurlHttpClient>> Create(CurlHttpClientOptions options);

  // Cancels every transfer still queued or running (their callbacks run with
  // CANCELLED, on the loop thread, before this returns) and joins the
  // event-loop thread. No Send may race with or follow destruction, except
  // from those callbacks (such transfers also complete with CANCELLED).
  ~CurlHttpClient() override;

  TransferId Send(HttpRequest request, HttpCallback done) override;
  void Cancel(TransferId id) override;

  // Transfers accepted by Send whose callback has not started yet (for tests
  // and metrics).
  std::size_t InFlight() const;

  class Impl;

 private:
  explicit CurlHttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace leafsvc::http

#endif  // SERVER_HTTP_CURL_HTTP_CLIENT_H_
