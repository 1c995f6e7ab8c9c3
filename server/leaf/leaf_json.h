// JSON codec for Leaf's credential API (RapidJSON), by a provider spec. Decoders are
// tolerant where Leaf varies (unknown fields ignored, null for absent, 0-9
// fraction digits in timestamps) and strict where a wrong type would lose
// data. Decode errors say what was wrong and never quote the body, which may
// hold secrets.
#ifndef SERVER_LEAF_LEAF_JSON_H_
#define SERVER_LEAF_LEAF_JSON_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/leaf/leaf_types.h"
#include "server/providers/provider_spec.h"
#include "server/secrets/secret.h"

namespace leafsvc::leaf {

// Deepest nesting of arrays and objects accepted in any Leaf body (Leaf's
// own are 3 deep); the parse stops at the first level deeper, so a hostile
// 4 MiB body costs bounded memory.
inline constexpr int kMaxLeafJsonDepth = 64;  // json::kMaxDepth (checked in leaf_json.cc)

// Errors: INVALID_ARGUMENT naming the problem (the caller decides how an
// unreadable upstream body is reported).
// The fields are the spec's (others are ignored), each a string or null.
absl::StatusOr<ProviderCredentials> DecodeCredentials(absl::string_view json,
                                                      const providers::ProviderSpec& provider);
// A malformed element (wrong types, a timestamp outside years 0001-9999, an
// id that is not 1-128 of [A-Za-z0-9._~-]) is skipped and logged, so that
// one bad event does not hide the others; a malformed document is an error.
absl::StatusOr<std::vector<CredentialEvent>> DecodeEvents(absl::string_view json);
// The id_token of a successful POST /api/authenticate.
absl::StatusOr<Secret> DecodeLoginResponse(absl::string_view json);

// nullopt unless `json` is a JSON object (any problem-like object counts;
// every field is optional).
std::optional<Problem> DecodeProblem(absl::string_view json);

// The spec's fields in its order: required ones always (empty when absent
// from `credentials`), the others only when not empty; fields the spec does
// not name are not sent.
std::string EncodeCreateCredentials(const NewProviderCredentials& credentials,
                                    const providers::ProviderSpec& provider);
std::string EncodeLogin(absl::string_view username, const Secret& password, bool remember_me);

}  // namespace leafsvc::leaf

#endif  // SERVER_LEAF_LEAF_JSON_H_
