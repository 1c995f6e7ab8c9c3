// The Retry-After header (RFC 9110 §10.2.3): delta-seconds or an HTTP-date.
#ifndef SERVER_HTTP_RETRY_AFTER_H_
#define SERVER_HTTP_RETRY_AFTER_H_

#include <optional>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace leafsvc::http {

// The delay `value` asks for, relative to `now`; none when absent or not
// understood. Capped at a day (beyond that a delay is meaningless, and an
// absurd one would not fit google.protobuf.Duration).
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now);

}  // namespace leafsvc::http

#endif  // SERVER_HTTP_RETRY_AFTER_H_
