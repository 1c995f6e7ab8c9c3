#include "server/watch/change.h"

#include <utility>

#include "server/errors/reasons.h"
#include "server/errors/status_details.h"
#include "server/leaf/leaf_errors.h"

namespace leafsvc::watch {

Observation Observation::FromResult(absl::StatusOr<leaf::ProviderCredentials> result) {
  Observation o;
  if (result.ok()) {
    o.kind = Kind::kPresent;
    o.credentials = *std::move(result);
  } else if (absl::IsNotFound(result.status()) &&
             GetStatusDetails(result.status()).reason == leaf::kReasonCredentialsNotFound) {
    o.kind = Kind::kAbsent;
  } else {
    const std::string reason = GetStatusDetails(result.status()).reason;
    o.kind =
        reason == reasons::kLeafRateLimited.name || reason == reasons::kTooManyCallsInFlight.name
            ? Kind::kNotRead
            : Kind::kError;
    o.error = result.status();
  }
  return o;
}

absl::string_view SourceName(Source source) {
  switch (source) {
    case Source::kInitial:
      return "initial";
    case Source::kPoll:
      return "poll";
    case Source::kAlert:
      return "alert";
    case Source::kConnect:
      return "connect_link";
  }
  return "unknown";
}

absl::string_view ChangeKindName(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kInitial:
      return "initial";
    case ChangeKind::kCreated:
      return "created";
    case ChangeKind::kStatusChanged:
      return "status_changed";
    case ChangeKind::kReplaced:
      return "replaced";
    case ChangeKind::kDeleted:
      return "deleted";
    case ChangeKind::kError:
      return "error";
    case ChangeKind::kResync:
      return "resync";
  }
  return "unknown";
}

}  // namespace leafsvc::watch
