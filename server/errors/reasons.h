// The one table of ErrorInfo reasons: each row names a reason, the gRPC code
// it always goes out with, a default message a person can act on, and what it
// means (the "What happened" of docs/errors.md). Sites raise errors through
// MakeError with a row, never a string, so a reason's code cannot differ
// between two sites, and tests check the docs against AllReasons().
#ifndef SERVER_ERRORS_REASONS_H_
#define SERVER_ERRORS_REASONS_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/errors/status_details.h"

namespace leafsvc {

// google.rpc.ErrorInfo.domain of every error this service returns.
inline constexpr absl::string_view kErrorDomain = "leaf.agleader.v1";

struct Reason {
  absl::string_view name;     // ErrorInfo.reason, UPPER_SNAKE
  absl::StatusCode code;      // the gRPC code it goes out with
  absl::string_view message;  // for sites with nothing more specific to say
  absl::string_view meaning;  // what happened, for docs/errors.md
  // A second documented code (kOk: none). Only LEAF_REJECTED_REQUEST has one:
  // Leaf's 400 is INVALID_ARGUMENT, its other 4xx FAILED_PRECONDITION.
  absl::StatusCode other_code = absl::StatusCode::kOk;
};

namespace reasons {

using C = absl::StatusCode;

// Checked before Leaf is called.
inline constexpr Reason kInvalidRequest{
    "INVALID_REQUEST", C::kInvalidArgument,
    "invalid request; see the field violations and fix those fields",
    "Invalid request (checked before calling Leaf; with `BadRequest`)"};
inline constexpr Reason kInvalidPageToken{
    "INVALID_PAGE_TOKEN", C::kInvalidArgument,
    "invalid page_token; pass back next_page_token unchanged, or omit it to start over",
    "Page token not issued by this service / for another user"};
inline constexpr Reason kFullViewNotAllowed{
    "FULL_VIEW_NOT_ALLOWED", C::kPermissionDenied,
    "CREDENTIALS_VIEW_FULL is disabled on this server; use CREDENTIALS_VIEW_BASIC",
    "Full view asked of a server without `--allow_full_view`"};
inline constexpr Reason kMalformedRequest{
    "MALFORMED_REQUEST", C::kInvalidArgument,
    "the request could not be parsed; send a well-formed message",
    "The request message does not parse (truncated or invalid protobuf bytes, a string field "
    "that is not UTF-8)"};
inline constexpr Reason kCallerLeafTokenNotAllowed{
    "CALLER_LEAF_TOKEN_NOT_ALLOWED", C::kPermissionDenied,
    "this server does not accept x-leaf-token metadata; leave it out",
    "`x-leaf-token` metadata sent to a server without `--allow_caller_leaf_token`"};

// What Leaf (or the way to it) did.
inline constexpr Reason kLeafRejectedRequest{
    "LEAF_REJECTED_REQUEST", C::kInvalidArgument,
    "Leaf rejected the request; check the request's fields",
    "Leaf 400 (`INVALID_ARGUMENT`); other Leaf 4xx (`FAILED_PRECONDITION`)",
    C::kFailedPrecondition};
inline constexpr Reason kCredentialsAlreadyExist{
    "CREDENTIALS_ALREADY_EXIST", C::kAlreadyExists,
    "the Leaf user already has AgLeader credentials; delete them first to replace them",
    "Leaf 409, or a 400 to a create saying the credentials already exist"};
inline constexpr Reason kLeafTokenRejected{
    "LEAF_TOKEN_REJECTED", C::kUnauthenticated,
    "Leaf rejected this service's API token; check --leaf_token or "
    "--leaf_username/--leaf_password",
    "Leaf 401 (this service's Leaf token refused, after one renewal and retry)"};
inline constexpr Reason kLeafLoginFailed{
    "LEAF_LOGIN_FAILED", C::kUnauthenticated,
    "Leaf refused this service's login; check --leaf_username and --leaf_password",
    "Leaf refused this service's login (username/password)"};
inline constexpr Reason kLeafPermissionDenied{
    "LEAF_PERMISSION_DENIED", C::kPermissionDenied,
    "Leaf denied permission; check this service's Leaf account's rights", "Leaf 403"};
inline constexpr Reason kCredentialsNotFound{"CREDENTIALS_NOT_FOUND", C::kNotFound,
                                             "the Leaf user has no AgLeader credentials",
                                             "Leaf 404: the user has no AgLeader credentials"};
inline constexpr Reason kLeafUserNotFound{"LEAF_USER_NOT_FOUND", C::kNotFound,
                                          "Leaf has no such user; check leaf_user_id",
                                          "Leaf 404: no such Leaf user"};
inline constexpr Reason kLeafRateLimited{"LEAF_RATE_LIMITED", C::kResourceExhausted,
                                         "Leaf is rate limiting requests; retry later",
                                         "Leaf 429 (with `RetryInfo` from `Retry-After`)"};
inline constexpr Reason kLeafUnavailable{"LEAF_UNAVAILABLE", C::kUnavailable,
                                         "Leaf failed; retry later",
                                         "Leaf 5xx, including HTML gateway pages"};
inline constexpr Reason kLeafUnexpectedResponse{"LEAF_UNEXPECTED_RESPONSE", C::kUnknown,
                                                "Leaf answered with an unexpected HTTP status",
                                                "Any other Leaf status (e.g. a 3xx)"};
inline constexpr Reason kLeafUnreachable{"LEAF_UNREACHABLE", C::kUnavailable,
                                         "could not reach Leaf; retry later",
                                         "Could not connect, connection reset, TLS failure"};
inline constexpr Reason kLeafTimeout{
    "LEAF_TIMEOUT", C::kDeadlineExceeded,
    "Leaf did not answer in time; retry, perhaps with a longer deadline",
    "Leaf too slow: `--upstream_timeout` or the caller's deadline passed"};
inline constexpr Reason kLeafBadResponse{
    "LEAF_BAD_RESPONSE", C::kInternal, "Leaf's answer could not be read",
    "Leaf's success body unreadable (bad JSON, empty, wrong types)"};
inline constexpr Reason kLeafResponseTooLarge{
    "LEAF_RESPONSE_TOO_LARGE", C::kInternal,
    "Leaf's response was too large; raise --max_response_bytes",
    "Leaf's response larger than `--max_response_bytes`"};
inline constexpr Reason kLeafTransportError{"LEAF_TRANSPORT_ERROR", C::kInternal,
                                            "calling Leaf failed", "Any other transport failure"};
inline constexpr Reason kCancelled{"CANCELLED", C::kCancelled, "the call was cancelled",
                                   "The caller cancelled"};
inline constexpr Reason kCallerLeafTokenRejected{
    "CALLER_LEAF_TOKEN_REJECTED", C::kUnauthenticated,
    "Leaf rejected the token sent in the x-leaf-token metadata",
    "Leaf 401 to the caller's own `x-leaf-token` (not retried)"};

// This server's own limits and state.
inline constexpr Reason kTooManyCallsInFlight{
    "TOO_MANY_CALLS_IN_FLIGHT", C::kResourceExhausted,
    "this server has too many calls in flight to Leaf; retry with backoff",
    "`--max_upstream_in_flight` calls already wait on Leaf (with `RetryInfo`)"};
inline constexpr Reason kShuttingDown{
    "SHUTTING_DOWN", C::kUnavailable,
    "this server is shutting down; retry (another replica will answer)",
    "The server is shutting down (another replica will answer)"};
inline constexpr Reason kBatchCancelled{
    "BATCH_CANCELLED", C::kCancelled, "not fetched: the call was cancelled before this user's turn",
    "`BatchGetCredentials`: the call was cancelled before this user was fetched"};
inline constexpr Reason kBatchDeadlineExceeded{
    "BATCH_DEADLINE_EXCEEDED", C::kDeadlineExceeded,
    "not fetched: the call's deadline was near before this user's turn; ask again for the "
    "users not reached",
    "`BatchGetCredentials`: the call's deadline came before this user was fetched"};
inline constexpr Reason kTooManyWatchStreams{
    "TOO_MANY_WATCH_STREAMS", C::kResourceExhausted,
    "this server serves its limit of watch streams; retry later or on another replica",
    "`WatchCredentials`: the server already serves `--watch_max_streams` streams"};
inline constexpr Reason kTooManyWatchedUsers{
    "TOO_MANY_WATCHED_USERS", C::kResourceExhausted,
    "this server watches its limit of users; retry later or on another replica",
    "`WatchCredentials`: the stream would take the server past `--watch_max_users`"};
inline constexpr Reason kTooManyWatchedUsersForCaller{
    "TOO_MANY_WATCHED_USERS_FOR_CALLER", C::kResourceExhausted,
    "this caller watches its limit of users; close streams it no longer needs, or watch "
    "fewer users",
    "`WatchCredentials`: the stream would take its caller past `--watch_max_users_per_caller`"};
inline constexpr Reason kWatchStreamTooSlow{
    "WATCH_STREAM_TOO_SLOW", C::kResourceExhausted,
    "WATCH_STREAM_TOO_SLOW: the caller read this stream too slowly and changes piled up; "
    "watch again",
    "`WatchCredentials`: the caller left more than 1,024 changes unread"};
inline constexpr Reason kPageTokenSigningFailed{
    "PAGE_TOKEN_SIGNING_FAILED", C::kInternal,
    "could not compute the page token's HMAC (OpenSSL failed)",
    "Signing a page token failed (OpenSSL HMAC error; not expected)"};


// Connect links (CreateConnectLink, GetConnectLink and the grower's pages).
inline constexpr Reason kConnectNotConfigured{
    "CONNECT_NOT_CONFIGURED", C::kFailedPrecondition,
    "connect links are off on this server; set --agleader_public_key, "
    "--agleader_private_key_file and --connect_public_url",
    "`CreateConnectLink` on a server without an AgLeader application configured"};
inline constexpr Reason kConnectReturnUrlNotAllowed{
    "CONNECT_RETURN_URL_NOT_ALLOWED", C::kInvalidArgument,
    "return_url must be an https:// URL starting with one of --connect_return_url_allow",
    "`CreateConnectLink`: `return_url` outside `--connect_return_url_allow` (with `BadRequest`)"};
inline constexpr Reason kConnectLinkNotFound{
    "CONNECT_LINK_NOT_FOUND", C::kNotFound,
    "no such connect link; create a new one with CreateConnectLink",
    "No connect link by that name (never issued, expired more than a day ago, or forgotten by a "
    "restart without `--redis_url`)"};
inline constexpr Reason kConnectLinkExpired{
    "CONNECT_LINK_EXPIRED", C::kFailedPrecondition,
    "this connect link has expired; create a new one with CreateConnectLink",
    "The connect link was opened after its `expire_time`"};
inline constexpr Reason kConnectLinkAlreadyUsed{
    "CONNECT_LINK_ALREADY_USED", C::kFailedPrecondition,
    "this connect link already connected the grower; create a new one to connect again",
    "The connect link was opened again after it connected the grower"};
inline constexpr Reason kConnectStateInvalid{
    "CONNECT_STATE_INVALID", C::kInvalidArgument,
    "this sign-in answer is not valid (already used, expired, altered or from another "
    "browser); open the connect link again",
    "AgFiniti's redirect carried a `state` that is unknown, used, altered, expired or bound to "
    "another browser (a replayed or forged callback)"};
inline constexpr Reason kConnectConsentDenied{
    "CONNECT_CONSENT_DENIED", C::kPermissionDenied,
    "the grower declined access on AgFiniti's consent page; the link can be opened again",
    "The grower clicked Deny on AgFiniti's consent page (`error=access_denied`)"};
inline constexpr Reason kAgfinitiAuthorizationFailed{
    "AGFINITI_AUTHORIZATION_FAILED", C::kFailedPrecondition,
    "AgFiniti refused the authorization request; check --agleader_public_key, the redirect "
    "URL registered with AgFiniti and --agfiniti_scopes",
    "AgFiniti redirected back with an error other than `access_denied` (RFC 6749 §4.1.2.1)"};
inline constexpr Reason kAgfinitiCodeRejected{
    "AGFINITI_CODE_REJECTED", C::kFailedPrecondition,
    "AgFiniti refused the authorization code (expired, used or issued for another redirect "
    "URL); the grower should open the link again",
    "AgFiniti's token endpoint answered `invalid_grant`"};
inline constexpr Reason kAgfinitiClientRejected{
    "AGFINITI_CLIENT_REJECTED", C::kFailedPrecondition,
    "AgFiniti refused this application's keys; check --agleader_public_key and "
    "--agleader_private_key_file",
    "AgFiniti's token endpoint answered `invalid_client` or `unauthorized_client`"};
inline constexpr Reason kAgfinitiRequestRejected{
    "AGFINITI_REQUEST_REJECTED", C::kFailedPrecondition,
    "AgFiniti refused the token request; check --agfiniti_token_url and --agfiniti_scopes",
    "AgFiniti's token endpoint answered another RFC 6749 §5.2 error (`invalid_request`, "
    "`unsupported_grant_type`, `invalid_scope`)"};
inline constexpr Reason kAgfinitiUnavailable{
    "AGFINITI_UNAVAILABLE", C::kUnavailable,
    "AgFiniti could not be reached or failed; the grower should try the link again later",
    "AgFiniti's token endpoint unreachable, too slow, 5xx, or its answer unreadable"};
inline constexpr Reason kConnectRateLimited{
    "CONNECT_RATE_LIMITED", C::kResourceExhausted,
    "too many requests for this connect link or from this address; wait a minute",
    "The grower's pages: too many requests per link or per source address (HTTP 429)"};

}  // namespace reasons

// Every row above, in order.
const std::vector<const Reason*>& AllReasons();

// The row named `name`, or nullptr.
const Reason* FindReason(absl::string_view name);

// An error status for `reason`: its code, `message` (empty: the row's default
// message) and `details` with the reason set.
absl::Status MakeError(const Reason& reason, absl::string_view message = {},
                       StatusDetails details = {});

// The same with the row's `other_code` (LEAF_REJECTED_REQUEST's other 4xx).
absl::Status MakeErrorWithOtherCode(const Reason& reason, absl::string_view message,
                                    StatusDetails details);

}  // namespace leafsvc

#endif  // SERVER_ERRORS_REASONS_H_
