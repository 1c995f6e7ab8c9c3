// What a caller of the Leaf client configures and gets back for one call:
// retry policy, client options, per-call options and stats, and the handle
// of a started call. Shared by LeafClient and its Exchange.
#ifndef SERVER_LEAF_LEAF_CALL_H_
#define SERVER_LEAF_LEAF_CALL_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "server/platform/scheduler.h"
#include "server/secrets/secret.h"

namespace leafsvc::leaf {

// When a failed exchange is sent again. Only requests that are safe to
// repeat are retried: GET and DELETE on a connection failure, 429, 502, 503
// or 504; a POST only when the connection failed before anything was sent.
// Delays grow exponentially with full jitter, at least Retry-After, and never
// past the exchange's deadline.
struct RetryPolicy {
  int max_attempts = 3;  // including the first; 1 disables retries
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(2);
  double multiplier = 2.0;
};

// One HTTP attempt, as seen by observers (metrics, health).
struct AttemptInfo {
  const std::string& http_method;  // "GET", "POST", "DELETE"
  int http_status;                 // 0: no response (transport failure)
  absl::Duration latency;
  // Leaf answered (any status below 500): false for a transport failure,
  // timeout or 5xx.
  bool reachable;
};

// What one call did, filled in before its callback runs.
struct CallStats {
  int attempts = 0;          // HTTP requests sent
  int last_http_status = 0;  // 0: no response
};

struct LeafClientOptions {
  RetryPolicy retry;
  // Most exchanges in flight at once; beyond it calls fail at once with
  // RESOURCE_EXHAUSTED (reason TOO_MANY_CALLS_IN_FLIGHT) instead of queueing.
  int max_in_flight = 1024;
  // Runs retry backoffs; required when retry.max_attempts > 1.
  Scheduler* scheduler = nullptr;
  // Told the outcome of every attempt (not of cancelled ones), and of every
  // retry scheduled. Called on transport threads; must be quick.
  std::function<void(const AttemptInfo&)> on_attempt;
  std::function<void(const std::string& http_method)> on_retry;
  // Told each read that shared an identical read already in flight (see
  // read_coalescer.h).
  std::function<void()> on_coalesced;
  // Uniform in [0, 1), for jitter; tests may fix it.
  std::function<double()> random;
  // A GET or DELETE sent over a pooled connection that shows no byte of an
  // answer this long is abandoned and sent once more on a new connection (a
  // keep-alive connection that Leaf silently stopped answering must not cost
  // the call its whole deadline). Infinite: never.
  absl::Duration first_byte_timeout = absl::Seconds(5);
};

// Per-call settings.
struct CallOptions {
  // Implicit on purpose: most calls only need a deadline.
  CallOptions(absl::Time deadline) : deadline(deadline) {}  // NOLINT

  // Bounds the whole exchange, including a login, retries and backoffs.
  absl::Time deadline;
  // A Leaf token supplied by the caller, used instead of the token source for
  // this call; a 401 is then reported (reason CALLER_LEAF_TOKEN_REJECTED),
  // not retried.
  std::optional<Secret> leaf_token;
  // Sent to Leaf as X-Request-Id when not empty.
  std::string request_id;
  // Filled in before the callback runs, when not null; must outlive the call.
  CallStats* stats = nullptr;
  // The call's place in the process's Leaf request budget (0 first:
  // budget::PriorityOf(RequestClass)); every request of the call, retries
  // included, carries it (http::HttpRequest::priority).
  int priority = 0;
  // Told each time the budget lets one of the call's requests go (may be
  // empty; http::HttpRequest::on_granted).
  std::function<void()> on_granted;
};

// What a started Leaf call or operation (an exchange, a batch, a listing
// walk, a shared read) gives its caller: Cancel() makes its callback run
// promptly with CANCELLED (unless it already ran) and aborts what is in
// flight.
class Cancellable {
 public:
  virtual ~Cancellable() = default;
  virtual void Cancel() = 0;
};

}  // namespace leafsvc::leaf

#endif  // SERVER_LEAF_LEAF_CALL_H_
