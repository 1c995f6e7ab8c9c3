// What distinguishes one Leaf credential provider from another, as plain
// data: Leaf serves every provider on the same pattern
// (/users/{id}/{provider}-credentials + /events, with id, status and
// createdTime; only the field set differs; see shared leaf-api.md), so the
// Leaf client, the edge's mapping and the emulator are written once and
// read a spec. No behaviour, no dependencies: every layer may use it.
#ifndef SERVER_PROVIDERS_PROVIDER_SPEC_H_
#define SERVER_PROVIDERS_PROVIDER_SPEC_H_

#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace leafsvc::providers {

// One field of the provider's credentials object beyond id, status and
// createdTime.
struct FieldSpec {
  // As Leaf's JSON spells it, e.g. "refreshToken".
  std::string json_name;
  // The matching field of the public proto (Credentials and
  // CreateCredentialsRequest), e.g. "refresh_token". A secret field also
  // has "<proto_field>_hint" in Credentials.
  std::string proto_field;
  // Secret values are held in Secret, hinted by default and shown whole
  // only in the full view.
  bool secret = false;
  // Required on create (always sent, Leaf refuses it blank); otherwise sent
  // only when not empty.
  bool required = false;
};

// A status value Leaf reports for the provider's credentials.
struct StatusSpec {
  std::string leaf_value;       // e.g. "UNAUTHENTICATED"
  std::string proto_enum_name;  // CredentialStatus value, e.g. "CREDENTIAL_STATUS_UNAUTHENTICATED"
};

// How Leaf's emulator (emulator/) plays the provider beyond its fields; the
// service never reads these.
struct EmulatorRules {
  // The provider's own check of new credentials: a create whose value of
  // this field starts with "invalid" is one the provider refuses (stored
  // UNAUTHENTICATED, or refused with 400 when the emulator is told to).
  // Empty: the provider refuses nothing.
  std::string refused_field;
  std::string refused_error_key;  // the 400's errorKey
  std::string refused_detail;     // the 400's detail
  // Seeded values start with these (by JSON name; default "seeded-<name>").
  std::map<std::string, std::string> seed_prefixes;
};

struct ProviderSpec {
  // The provider as Leaf's alerts name it ("provider": ...).
  std::string name;
  // The provider in messages for people ("the Leaf user has no X credentials").
  std::string display_name;
  // Leaf's path segment: /users/{id}/{path_segment}.
  std::string path_segment;
  // The resource type Leaf's alerts carry ("credential": ...).
  std::string resource_type;
  // The member of a Leaf user (GET /users) that embeds these credentials.
  std::string user_member;
  // In the order they are sent on create.
  std::vector<FieldSpec> fields;
  // Leaf's status values this service knows; others map to
  // CREDENTIAL_STATUS_UNSPECIFIED (the raw value is kept).
  std::vector<StatusSpec> statuses;
  EmulatorRules emulator;

  // nullptr when the provider has no such field.
  const FieldSpec* FindField(absl::string_view json_name) const;
  // nullptr for a status value the spec does not know.
  const StatusSpec* FindStatus(absl::string_view leaf_value) const;
};

}  // namespace leafsvc::providers

#endif  // SERVER_PROVIDERS_PROVIDER_SPEC_H_
