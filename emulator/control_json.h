// The JSON bodies of the test-control API (control_api.h): what it accepts
// and what it answers, apart from Leaf's own shapes (leaf_json.h).
#ifndef EMULATOR_CONTROL_JSON_H_
#define EMULATOR_CONTROL_JSON_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "emulator/types.h"

namespace leafemu {

// {"kind","method","path_contains","times","probability","latency_ms",
// "status","body","headers","huge_bytes","drip_interval_ms"}; absent
// members keep Fault's defaults. InvalidArgumentError with the 400's detail.
absl::StatusOr<Fault> FaultFromJson(const std::string& body);
// The credential fields a test sets directly (Leaf's names: id, status,
// createdTime and the provider's fields); nullopt when `body` is not a JSON
// object.
std::optional<StoredCredentials> CredentialsFromJson(const std::string& body,
                                                     const ProviderSpec& provider);
// {"id","createdDate","statusCode" (or "status_code"),"headers","body"}.
std::optional<StoredEvent> EventFromJson(const std::string& body);
std::string RecordedRequestsJson(const std::vector<RecordedRequest>& requests);

// "replace", "bad_request" (or "badrequest", "400"), "conflict" (or "409"),
// any case.
std::optional<DuplicateCreateMode> DuplicateModeFromName(absl::string_view name);
const char* DuplicateModeName(DuplicateCreateMode mode);

}  // namespace leafemu

#endif  // EMULATOR_CONTROL_JSON_H_
