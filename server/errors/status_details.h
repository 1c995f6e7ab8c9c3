// Machine-readable details carried on an absl::Status from the layer that
// knows them (validation, the Leaf client) to the gRPC edge, which turns them
// into google.rpc.ErrorInfo / BadRequest / RetryInfo. Kept free of gRPC and
// protobuf types so the Leaf client stays independent of gRPC.
#ifndef SERVER_ERRORS_STATUS_DETAILS_H_
#define SERVER_ERRORS_STATUS_DETAILS_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/secrets/redact.h"

namespace leafsvc {

// The error domain (kErrorDomain) and the reasons are in server/errors/reasons.h.

struct FieldViolation {
  std::string field;        // proto field name, e.g. "leaf_user_id"
  std::string description;  // what is wrong and how to fix it
};

struct StatusDetails {
  std::string reason;                            // ErrorInfo.reason
  std::map<std::string, std::string> metadata;   // ErrorInfo.metadata
  std::vector<FieldViolation> field_violations;  // BadRequest
  std::optional<absl::Duration> retry_delay;     // RetryInfo
};

// Builds a status with `code`, `message` and `details` attached.
absl::Status MakeStatus(absl::StatusCode code, absl::string_view message,
                        const StatusDetails& details);

// Reads back what MakeStatus attached (empty details for a plain status).
StatusDetails GetStatusDetails(const absl::Status& status);

// Adds or replaces one metadata entry on an error status (no-op on OK).
void SetStatusMetadata(absl::Status& status, absl::string_view key, absl::string_view value);

// A copy of `status` whose message, metadata values and violation
// descriptions are redacted (server/secrets/redact.h) of `secrets`, the
// process's registered secrets and JWTs: for text that came from elsewhere
// (Leaf's error messages) and might quote what it was sent. Nothing is
// shortened here, so a later cut cannot split a secret.
absl::Status RedactSecrets(const absl::Status& status, const std::vector<std::string>& secrets);

// Limits of what leaves the process (applied after redaction).
inline constexpr size_t kMaxExitMessageBytes = 1024;
inline constexpr size_t kMaxExitMetadataBytes = 300;

// The one exit for an error status: every text in it (message, metadata
// values, violation descriptions) redacted as a whole by `redactor`, then
// shortened (message to kMaxExitMessageBytes, the rest to
// kMaxExitMetadataBytes; "..." marks a cut, never inside a character).
absl::Status ExitStatus(const absl::Status& status, const Redactor& redactor);

}  // namespace leafsvc

#endif  // SERVER_ERRORS_STATUS_DETAILS_H_
