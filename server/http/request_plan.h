// The pure part of turning an HttpRequest into libcurl options: what to set,
// decided without touching a curl handle, so that it is testable without a
// network. CurlHttpClient applies the plan to an easy handle.
#ifndef SERVER_HTTP_REQUEST_PLAN_H_
#define SERVER_HTTP_REQUEST_PLAN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "server/http/http_client.h"

namespace leafsvc::http {

struct RequestPlan {
  // How the method and body reach curl.
  enum class Body {
    kNone,    // CURLOPT_NOBODY (HEAD)
    kGet,     // CURLOPT_HTTPGET: a bodyless GET or DELETE
    kFields,  // CURLOPT_POSTFIELDS(+SIZE_LARGE) with the request's body
  };
  Body body = Body::kGet;
  // CURLOPT_CUSTOMREQUEST, when the method is not the one `body` implies.
  absl::optional<std::string> custom_method;
  // CURLOPT_TIMEOUT_MS, from the request's deadline; none when it has none.
  absl::optional<long> timeout_ms;
  // CURLOPT_FRESH_CONNECT: libcurl silently re-sends a request once when a
  // reused connection dies before any answer; a fresh connection rules that
  // out for requests that must not be sent twice.
  bool fresh_connect = false;
  // CURLOPT_HTTPHEADER lines, in order, in curl's syntax.
  std::vector<std::string> header_lines;
};

// Plans `request` at time `now`. Fails with INTERNAL for a header name or
// value that could split the request (CR, LF, a colon in the name, an empty
// name); the message names the header, never its value (it may be a secret).
absl::StatusOr<RequestPlan> PlanRequest(const HttpRequest& request, absl::Time now);

// CURLOPT_CONNECTTIMEOUT_MS for `timeout`: at least 1 (0 means curl's
// default), at most LONG_MAX.
long ConnectTimeoutMs(absl::Duration timeout);

}  // namespace leafsvc::http

#endif  // SERVER_HTTP_REQUEST_PLAN_H_
