// Applies one request to a pooled libcurl easy handle: resets it, sets the
// fixed options (protocols, no signals, keep-alive, HTTP/1.1, no redirects,
// TLS trust, timeouts), wires the response reader, and applies the request's
// plan (method, body, headers, timeout, fresh connection). One place for
// every curl_easy_setopt of a transfer.
#ifndef SERVER_HTTP_EASY_SETUP_H_
#define SERVER_HTTP_EASY_SETUP_H_

#include <curl/curl.h>

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/http/curl_socket_driver.h"
#include "server/http/http_client.h"
#include "server/http/response_reader.h"
#include "server/http/tls_trust.h"

namespace leafsvc::http {

// What every transfer of one client shares.
struct EasyOptions {
  const TlsTrust* tls;
  long connect_timeout_ms;
  const std::string* user_agent;  // empty: libcurl's default
  // Opens and closes the transfers' connections (nullptr: libcurl does).
  const CurlSocketDriver* sockets = nullptr;
};

// Where one transfer's state lives (all must outlive the transfer).
struct EasyTarget {
  void* private_data;      // CURLOPT_PRIVATE
  char* error_buffer;      // CURL_ERROR_SIZE bytes
  ResponseReader* reader;  // header and body callbacks
  curl_slist** headers;    // the request's header list (owned by the caller)
  // Whether the handle's options are those of a plain GET configured by an
  // earlier call with this same target (kept with the pooled handle; false
  // for a new one). Such a handle is not reset: only the options that vary
  // between GETs are set again, which saves the reset and ~20 options.
  bool* configured_for_get;
};

// Configures `easy` for `request` at `now`. On error the handle must not be
// added to a multi handle; `*target.headers` may still need freeing. The
// options in effect are the same whether the handle was reset or reused.
absl::Status ConfigureEasy(CURL* easy, const HttpRequest& request, absl::Time now,
                           const EasyOptions& options, const EasyTarget& target);

}  // namespace leafsvc::http

#endif  // SERVER_HTTP_EASY_SETUP_H_
