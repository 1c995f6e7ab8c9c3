#include "server/errors/reasons.h"

#include <string>
#include <utility>

namespace leafsvc {

const std::vector<const Reason*>& AllReasons() {
  using namespace reasons;  // NOLINT: the table's own names
  static const auto* const kAll = new std::vector<const Reason*>{
      &kInvalidRequest,
      &kInvalidPageToken,
      &kFullViewNotAllowed,
      &kMalformedRequest,
      &kCallerLeafTokenNotAllowed,
      &kLeafRejectedRequest,
      &kCredentialsAlreadyExist,
      &kLeafTokenRejected,
      &kLeafLoginFailed,
      &kLeafPermissionDenied,
      &kCredentialsNotFound,
      &kLeafUserNotFound,
      &kLeafRateLimited,
      &kLeafUnavailable,
      &kLeafUnexpectedResponse,
      &kLeafUnreachable,
      &kLeafTimeout,
      &kLeafBadResponse,
      &kLeafResponseTooLarge,
      &kLeafTransportError,
      &kCancelled,
      &kCallerLeafTokenRejected,
      &kTooManyCallsInFlight,
      &kShuttingDown,
      &kBatchCancelled,
      &kBatchDeadlineExceeded,
      &kTooManyWatchStreams,
      &kTooManyWatchedUsers,
      &kTooManyWatchedUsersForCaller,
      &kWatchStreamTooSlow,
      &kPageTokenSigningFailed,
      &kConnectNotConfigured,
      &kConnectReturnUrlNotAllowed,
      &kConnectLinkNotFound,
      &kConnectLinkExpired,
      &kConnectLinkAlreadyUsed,
      &kConnectStateInvalid,
      &kConnectConsentDenied,
      &kAgfinitiAuthorizationFailed,
      &kAgfinitiCodeRejected,
      &kAgfinitiClientRejected,
      &kAgfinitiRequestRejected,
      &kAgfinitiUnavailable,
      &kConnectRateLimited,
  };
  return *kAll;
}

const Reason* FindReason(absl::string_view name) {
  for (const Reason* r : AllReasons()) {
    if (r->name == name) return r;
  }
  return nullptr;
}

namespace {

absl::Status Build(absl::StatusCode code, const Reason& reason, absl::string_view message,
                   StatusDetails details) {
  details.reason = std::string(reason.name);
  return MakeStatus(code, message.empty() ? reason.message : message, details);
}

}  // namespace

absl::Status MakeError(const Reason& reason, absl::string_view message, StatusDetails details) {
  return Build(reason.code, reason, message, std::move(details));
}

absl::Status MakeErrorWithOtherCode(const Reason& reason, absl::string_view message,
                                    StatusDetails details) {
  // A row without a second code keeps its own rather than going out as OK.
  const absl::StatusCode code =
      reason.other_code == absl::StatusCode::kOk ? reason.code : reason.other_code;
  return Build(code, reason, message, std::move(details));
}

}  // namespace leafsvc
