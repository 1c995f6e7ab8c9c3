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
#include "server/errors/reasons.h"
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

// Reasons (ErrorInfo.reason) produced here: short names for rows of the
// one table, server/errors/reasons.h.
inline constexpr absl::string_view kReasonCredentialsNotFound = reasons::kCredentialsNotFound.name;
inline constexpr absl::string_view kReasonLeafUserNotFound = reasons::kLeafUserNotFound.name;
inline constexpr absl::string_view kReasonAlreadyExist = reasons::kCredentialsAlreadyExist.name;
inline constexpr absl::string_view kReasonLeafRejected = reasons::kLeafRejectedRequest.name;
inline constexpr absl::string_view kReasonLeafTokenRejected = reasons::kLeafTokenRejected.name;
inline constexpr absl::string_view kReasonLeafLoginFailed = reasons::kLeafLoginFailed.name;
inline constexpr absl::string_view kReasonLeafPermissionDenied =
    reasons::kLeafPermissionDenied.name;
inline constexpr absl::string_view kReasonLeafRateLimited = reasons::kLeafRateLimited.name;
// The RetryInfo of Leaf's 429 when it sent no Retry-After.
inline constexpr absl::Duration kLeafRateLimitedRetryDelay = absl::Seconds(2);
inline constexpr absl::string_view kReasonLeafUnavailable = reasons::kLeafUnavailable.name;
inline constexpr absl::string_view kReasonLeafUnreachable = reasons::kLeafUnreachable.name;
inline constexpr absl::string_view kReasonLeafTimeout = reasons::kLeafTimeout.name;
inline constexpr absl::string_view kReasonLeafBadResponse = reasons::kLeafBadResponse.name;
inline constexpr absl::string_view kReasonLeafResponseTooLarge =
    reasons::kLeafResponseTooLarge.name;
inline constexpr absl::string_view kReasonLeafUnexpectedResponse =
    reasons::kLeafUnexpectedResponse.name;
inline constexpr absl::string_view kReasonCancelled = reasons::kCancelled.name;
inline constexpr absl::string_view kReasonTransportError = reasons::kLeafTransportError.name;
inline constexpr absl::string_view kReasonTooManyInFlight = reasons::kTooManyCallsInFlight.name;
inline constexpr absl::string_view kReasonCallerTokenRejected =
    reasons::kCallerLeafTokenRejected.name;
// Metadata: how many HTTP requests the call made to Leaf (set when more than one).
inline constexpr absl::string_view kMetaAttempts = "leaf_attempts";

// Metadata keys.
inline constexpr absl::string_view kMetaHttpStatus = "leaf_http_status";
inline constexpr absl::string_view kMetaLeafMessage = "leaf_message";
inline constexpr absl::string_view kMetaLeafErrorKey = "leaf_error_key";
// "true" when a failed request may nevertheless have taken effect at Leaf.
inline constexpr absl::string_view kMetaMaybeApplied = "request_may_have_reached_leaf";

// `provider` is the provider's display name (ProviderSpec::display_name),
// e.g. "the Leaf user has no {provider} credentials"; unused for login and
// listing users.

// A response whose HTTP status is not the operation's success status.
absl::Status StatusFromLeafResponse(LeafOperation op, const http::HttpResponse& response,
                                    absl::string_view provider);

// A transport failure (no response). `host` names Leaf in the message.
absl::Status StatusFromTransportError(LeafOperation op, const absl::Status& transport,
                                      absl::string_view host, absl::string_view provider);

// A success response whose body could not be decoded (`decode_error` says why).
absl::Status StatusFromBadBody(LeafOperation op, int http_status, const absl::Status& decode_error,
                               absl::string_view provider);

}  // namespace leafsvc::leaf

#endif  // SERVER_LEAF_LEAF_ERRORS_H_
