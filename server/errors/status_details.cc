#include "server/errors/status_details.h"

#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/secrets/redact.h"

namespace leafsvc {
namespace {

// Payload type URLs. Each detail is a separate payload so that one can be
// added without decoding the others.
constexpr absl::string_view kReasonUrl = "leafsvc/reason";
constexpr absl::string_view kMetadataPrefix = "leafsvc/metadata/";
constexpr absl::string_view kViolationPrefix = "leafsvc/violation/";
constexpr absl::string_view kRetryDelayUrl = "leafsvc/retry_delay_ms";

}  // namespace

absl::Status MakeStatus(absl::StatusCode code, absl::string_view message,
                        const StatusDetails& details) {
  absl::Status status(code, message);
  if (status.ok()) return status;
  if (!details.reason.empty()) {
    status.SetPayload(kReasonUrl, absl::Cord(details.reason));
  }
  for (const auto& [key, value] : details.metadata) {
    status.SetPayload(absl::StrCat(kMetadataPrefix, key), absl::Cord(value));
  }
  // The index keeps violations in order and allows one field twice.
  for (size_t i = 0; i < details.field_violations.size(); ++i) {
    const FieldViolation& v = details.field_violations[i];
    status.SetPayload(absl::StrCat(kViolationPrefix, i, "/", v.field), absl::Cord(v.description));
  }
  if (details.retry_delay.has_value()) {
    status.SetPayload(kRetryDelayUrl,
                      absl::Cord(absl::StrCat(absl::ToInt64Milliseconds(*details.retry_delay))));
  }
  return status;
}

StatusDetails GetStatusDetails(const absl::Status& status) {
  StatusDetails details;
  std::map<int, FieldViolation> violations;
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    std::string value(payload);
    if (url == kReasonUrl) {
      details.reason = value;
    } else if (absl::StartsWith(url, kMetadataPrefix)) {
      details.metadata[std::string(url.substr(kMetadataPrefix.size()))] = value;
    } else if (absl::StartsWith(url, kViolationPrefix)) {
      absl::string_view rest = url.substr(kViolationPrefix.size());
      size_t slash = rest.find('/');
      int index = 0;
      if (slash != absl::string_view::npos && absl::SimpleAtoi(rest.substr(0, slash), &index)) {
        violations[index] = {std::string(rest.substr(slash + 1)), value};
      }
    } else if (url == kRetryDelayUrl) {
      int64_t ms = 0;
      if (absl::SimpleAtoi(value, &ms)) {
        details.retry_delay = absl::Milliseconds(ms);
      }
    }
  });
  for (auto& [index, v] : violations) {
    details.field_violations.push_back(std::move(v));
  }
  return details;
}

void SetStatusMetadata(absl::Status& status, absl::string_view key, absl::string_view value) {
  if (status.ok()) return;
  status.SetPayload(absl::StrCat(kMetadataPrefix, key), absl::Cord(value));
}

namespace {

// `status` with every text passed through `edit(text, limit)`.
template <typename Edit>
absl::Status EditTexts(const absl::Status& status, Edit edit) {
  if (status.ok()) return status;
  StatusDetails details = GetStatusDetails(status);
  for (auto& [key, value] : details.metadata) {
    value = edit(value, kMaxExitMetadataBytes);
  }
  for (FieldViolation& v : details.field_violations) {
    v.description = edit(v.description, kMaxExitMetadataBytes);
  }
  return MakeStatus(status.code(), edit(status.message(), kMaxExitMessageBytes), details);
}

}  // namespace

absl::Status RedactSecrets(const absl::Status& status, const std::vector<std::string>& secrets) {
  const std::vector<absl::string_view> views(secrets.begin(), secrets.end());
  const Redactor redactor(views);
  return EditTexts(status, [&](absl::string_view text, size_t) { return redactor.Redact(text); });
}

absl::Status ExitStatus(const absl::Status& status, const Redactor& redactor) {
  return EditTexts(status, [&](absl::string_view text, size_t limit) {
    return redactor.RedactAndShorten(text, limit);
  });
}

}  // namespace leafsvc
