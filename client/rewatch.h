// When and how soon `agleader_client watch` opens a WatchCredentials stream
// again after one ended: the rules the Python and Node clients follow too
// (docs/clients.md#resuming).
//
// Retried: UNAVAILABLE (a server shutting down, a connection closed by
// --max_connection_age, a broken channel), RESOURCE_EXHAUSTED that carries a
// RetryInfo, and UNKNOWN or INTERNAL without the service's ErrorInfo (a
// stream cut without a status, e.g. reset by a proxy). Everything else ends
// the watch: the service's own refusals (INVALID_ARGUMENT,
// PERMISSION_DENIED, UNAUTHENTICATED, RESOURCE_EXHAUSTED limits without
// RetryInfo...) would only be refused again, and DEADLINE_EXCEEDED or
// CANCELLED were asked for by the caller.
//
// The delay is the RetryInfo's (at most 60 s) or a jittered exponential
// backoff: 100 ms doubling to 10 s, each delay drawn in [half, all] of its
// step so that clients dropped together do not come back together. A
// stream that delivered a change, or stayed open a minute, was healthy: the
// backoff and the count of attempts start over.
#ifndef CLIENT_REWATCH_H_
#define CLIENT_REWATCH_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <optional>

#include "absl/time/time.h"

namespace leafsvc::client {

struct RewatchOptions {
  // Re-watches in a row after unhealthy streams; -1: for ever, 0: never.
  int max_attempts = -1;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(10);
  // A RetryInfo asking for longer is cut to this: an odd server must not
  // park the watch for hours.
  absl::Duration max_retry_info = absl::Seconds(60);
  // A stream open at least this long counts as healthy even without change.
  absl::Duration healthy_after = absl::Minutes(1);
};

// Whether a stream that ended with `status` is worth opening again.
bool IsRetriableWatchEnd(const grpc::Status& status);

// The delay a RetryInfo in the status's details asks for, if any.
std::optional<absl::Duration> RetryInfoDelay(const grpc::Status& status);

// The decisions of one watch, stream after stream. Not thread-safe.
class Rewatcher {
 public:
  // `random` returns a number in [0, 1) for the jitter (tests pin it).
  Rewatcher(RewatchOptions options, std::function<double()> random);

  // A change arrived: the stream is healthy.
  void OnChange();

  // The stream ended with `status` after being open `lasted`: the delay
  // before watching again, or nullopt to give up (not retriable, or the
  // attempts are spent).
  std::optional<absl::Duration> OnEnd(const grpc::Status& status, absl::Duration lasted);

  // Re-watches since the last healthy stream.
  int attempts() const { return attempts_; }

 private:
  const RewatchOptions options_;
  const std::function<double()> random_;
  int attempts_ = 0;
  bool healthy_ = false;
};

}  // namespace leafsvc::client

#endif  // CLIENT_REWATCH_H_
