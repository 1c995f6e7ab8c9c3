// The one table that turns what Leaf (or the way to Leaf) did into an error
// status: canonical code, a stable reason for google.rpc.ErrorInfo, metadata
// (Leaf's HTTP status and message) and a message a person can act on. The
// gRPC edge copies code and details through unchanged. The error table of
// docs/errors.md mirrors this file.
#ifndef SERVER_LEAF_LEAF_ERRORS_H_
#define SERVER_LEAF_LEAF_ERRORS_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/http/http_client.h"

namespace leafsvc::leaf {

enum class LeafOperation {
  kLogin,
  kGetCredentials,
  kCreateCredentials,
  kDeleteCredentials,
  kListEvents,
  kListUsers,
};

// Reasons (ErrorInfo.reason) produced here.
inline constexpr absl::string_view kReasonCredentialsNotFound = "CREDENTIALS_NOT_FOUND";
inline constexpr absl::string_view kReasonLeafUserNotFound = "LEAF_USER_NOT_FOUND";
inline constexpr absl::string_view kReasonAlreadyExist = "CREDENTIALS_ALREADY_EXIST";
inline constexpr absl::string_view kReasonLeafRejected = "LEAF_REJECTED_REQUEST";
inline constexpr absl::string_view kReasonLeafTokenRejected = "LEAF_TOKEN_REJECTED";
inline constexpr absl::string_view kReasonLeafLoginFailed = "LEAF_LOGIN_FAILED";
inline constexpr absl::string_view kReasonLeafPermissionDenied = "LEAF_PERMISSION_DENIED";
inline constexpr absl::string_view kReasonLeafRateLimited = "LEAF_RATE_LIMITED";
inline constexpr absl::string_view kReasonLeafUnavailable = "LEAF_UNAVAILABLE";
inline constexpr absl::string_view kReasonLeafUnreachable = "LEAF_UNREACHABLE";
inline constexpr absl::string_view kReasonLeafTimeout = "LEAF_TIMEOUT";
inline constexpr absl::string_view kReasonLeafBadResponse = "LEAF_BAD_RESPONSE";
inline constexpr absl::string_view kReasonLeafResponseTooLarge = "LEAF_RESPONSE_TOO_LARGE";
inline constexpr absl::string_view kReasonLeafUnexpectedResponse = "LEAF_UNEXPECTED_RESPONSE";
inline constexpr absl::string_view kReasonCancelled = "CANCELLED";
inline constexpr absl::string_view kReasonTransportError = "LEAF_TRANSPORT_ERROR";
inline constexpr absl::string_view kReasonTooManyInFlight = "TOO_MANY_CALLS_IN_FLIGHT";
inline constexpr absl::string_view kReasonCallerTokenRejected = "CALLER_LEAF_TOKEN_REJECTED";
// Metadata: how many HTTP requests the call made to Leaf (set when more than one).
inline constexpr absl::string_view kMetaAttempts = "leaf_attempts";

// Metadata keys.
inline constexpr absl::string_view kMetaHttpStatus = "leaf_http_status";
inline constexpr absl::string_view kMetaLeafMessage = "leaf_message";
inline constexpr absl::string_view kMetaLeafErrorKey = "leaf_error_key";
// "true" when a failed request may nevertheless have taken effect at Leaf.
inline constexpr absl::string_view kMetaMaybeApplied = "request_may_have_reached_leaf";

// A response whose HTTP status is not the operation's success status.
absl::Status StatusFromLeafResponse(LeafOperation op,
                                    const http::HttpResponse& response);

// A transport failure (no response). `host` names Leaf in the message.
absl::Status StatusFromTransportError(LeafOperation op,
                                      const absl::Status& transport,
                                      absl::string_view host);

// A success response whose body could not be decoded (`decode_error` says why).
absl::Status StatusFromBadBody(LeafOperation op, int http_status,
                               const absl::Status& decode_error);

// Retry-After as delta-seconds or an HTTP-date, relative to `now`.
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value,
                                              absl::Time now);

}  // namespace leafsvc::leaf

#endif  // SERVER_LEAF_LEAF_ERRORS_H_
