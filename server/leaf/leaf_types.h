// Plain structs for Leaf's credential resources, as Leaf's REST API
// represents them (see shared leaf-api.md). Which provider, and which fields
// it has, is data (server/providers/provider_spec.h). No gRPC or protobuf
// types.
#ifndef SERVER_LEAF_LEAF_TYPES_H_
#define SERVER_LEAF_LEAF_TYPES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/providers/provider_spec.h"
#include "server/secrets/secret.h"

namespace leafsvc::leaf {

// One provider-specific field of a credentials object. Every value is held
// in a Secret (wiped, never formatted) whether or not the spec calls it
// secret; `secret` says how the edge may show it.
struct CredentialField {
  std::string name;  // as Leaf's JSON spells it, e.g. "refreshToken"
  Secret value;
  bool secret = true;
  // Set when the value is withheld (empty): a secret shared through Redis in
  // fleet mode travels as its hint only; show this hint instead.
  std::string hint;
};

// The field of `fields` named `name`, or nullptr.
inline const CredentialField* FindField(const std::vector<CredentialField>& fields,
                                        absl::string_view name) {
  for (const CredentialField& f : fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// GET/POST /users/{leafUserId}/{provider}-credentials response.
struct ProviderCredentials {
  std::string id;
  // Raw status ("OK", "UNAUTHENTICATED", ...); unknown values are kept.
  std::string status;
  std::optional<absl::Time> created_time;
  // Every field of the provider's spec, in the spec's order (empty when
  // Leaf sent none).
  std::vector<CredentialField> fields;
  // The spec these were decoded by (set by DecodeCredentials), so that code
  // handed them later maps them without being told the provider again.
  const providers::ProviderSpec* provider = nullptr;
};

// POST /users/{leafUserId}/{provider}-credentials request body: the spec's
// fields (required ones always sent, the others only when not empty).
struct NewProviderCredentials {
  std::vector<CredentialField> fields;
};

// One element of GET /users/{leafUserId}/{provider}-credentials/events.
struct CredentialEvent {
  std::string id;
  std::optional<absl::Time> created_date;
  int status_code = 0;
  std::string headers;
  std::string body;
};

// Leaf's JHipster "problem" error body. Every field is optional.
struct Problem {
  std::string type;
  std::string title;
  std::string detail;
  std::string message;
  std::string error_key;
  std::string path;
  struct FieldError {
    std::string object_name;
    std::string field;
    std::string message;
  };
  std::vector<FieldError> field_errors;

  // The most informative human-readable text in the problem.
  std::string Summary() const;
};

}  // namespace leafsvc::leaf

#endif  // SERVER_LEAF_LEAF_TYPES_H_
