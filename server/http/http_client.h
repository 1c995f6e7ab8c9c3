// The HTTP transport seam. The Leaf client speaks to Leaf only through this
// interface; the production implementation is CurlHttpClient (libcurl multi on
// its own event-loop thread), tests can substitute a fake.
//
// No gRPC types here: this layer is reusable and testable on its own.
#ifndef SERVER_HTTP_HTTP_CLIENT_H_
#define SERVER_HTTP_HTTP_CLIENT_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace leafsvc::http {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "POST", "DELETE", ...
  std::string url;     // absolute http(s) URL
  HttpHeaders headers;
  std::string body;
  // The whole transfer (connect, send, receive) must end by then; the
  // transport fails it with DEADLINE_EXCEEDED otherwise.
  absl::Time deadline = absl::InfiniteFuture();
  // Open a new connection instead of reusing a pooled one. For requests that
  // must never be sent twice (e.g. a POST): transports may transparently
  // re-send a request whose reused connection died before any answer.
  bool fresh_connection = false;
  // When the transfer reuses a pooled connection and no byte of the answer
  // has arrived this long after it started, the transport gives up on it
  // with UNAVAILABLE carrying kNoAnswerPayload (and kMaybeSentPayload): the
  // connection may have died silently, and a new one may answer. Infinite
  // (the default): only the deadline applies.
  absl::Duration first_byte_timeout = absl::InfiniteDuration();
  // The request's place in a shared request budget (0 first; see
  // server/budget/budgeted_http_client.h). Transports ignore it.
  int priority = 0;
  // Told when a budget grants the request, just before it leaves (may be
  // empty; transports ignore it). Lets a read that waited in a low class be
  // joined by a caller once it no longer waits.
  std::function<void()> on_granted;
};

// Zeroes the request's URL, header values and body (their buffers too) and
// empties them: a request's Authorization header and body may hold secrets,
// and a transport keeps its buffers for the next request.
void WipeRequest(HttpRequest& request);

struct HttpResponse {
  int status_code = 0;
  HttpHeaders headers;  // names lower-cased, in arrival order
  std::string body;

  // Value of the first header named `name` (lower case), or empty.
  absl::string_view Header(absl::string_view name) const;
};

// Transport outcomes. A response with any HTTP status (404, 500...) is a
// success at this layer; only failures to obtain a response are errors:
//   UNAVAILABLE        could not connect, connection reset, TLS failure
//   DEADLINE_EXCEEDED  the request's deadline passed
//   CANCELLED          Cancel() was called
//   RESOURCE_EXHAUSTED the response exceeded the configured size limit
//   INTERNAL           anything else curl reports
// When an error could have happened after the request reached the server,
// the status carries the payload kMaybeSentPayload (value "true"): callers
// must then not assume a non-idempotent request had no effect.
inline constexpr absl::string_view kMaybeSentPayload = "leafsvc.http/maybe_sent";
// Set (value "true") when a client in front of the transport refused the
// request before it left (the request budget: LEAF_RATE_LIMITED, or the
// process shutting down). The status is that client's own answer, with its
// reason and details, for callers to pass on as is; nothing was sent.
inline constexpr absl::string_view kNotSentPayload = "leafsvc.http/not_sent";
// Set (value "true") beside kNotSentPayload when the refusal was for the
// request's deadline (no turn to send before it): a request with a later
// deadline might be sent. Kept when kNotSentPayload is taken off, so a read
// shared by several callers can be asked again for those with more time.
inline constexpr absl::string_view kTooLatePayload = "leafsvc.http/too_late";
// Set (value "true") when first_byte_timeout ended the transfer.
inline constexpr absl::string_view kNoAnswerPayload = "leafsvc.http/no_answer";

using HttpCallback = std::function<void(absl::StatusOr<HttpResponse>)>;
using TransferId = std::uint64_t;

class HttpClient {
 public:
  virtual ~HttpClient() = default;

  // Starts `request` and returns at once. `done` runs exactly once, on a
  // transport thread, with the response or the transport error; it must not
  // block.
  virtual TransferId Send(HttpRequest request, HttpCallback done) = 0;

  // Aborts a transfer started by Send. Its callback then runs with CANCELLED,
  // unless it has already run or is running. Safe to call from any thread,
  // any number of times, with an id that has already completed.
  virtual void Cancel(TransferId id) = 0;
};

// True when `status` says the request may have reached the server.
bool MaybeSent(const absl::Status& status);

}  // namespace leafsvc::http

#endif  // SERVER_HTTP_HTTP_CLIENT_H_
