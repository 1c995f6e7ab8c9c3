// Plain structs for Leaf's AgLeader credential resources, as Leaf's REST API
// represents them (see shared leaf-api.md). No gRPC or protobuf types.
#ifndef SERVER_LEAF_LEAF_TYPES_H_
#define SERVER_LEAF_LEAF_TYPES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/util/secret.h"

namespace leafsvc::leaf {

// GET/POST /users/{leafUserId}/ag-leader-credentials response.
struct ProviderCredentials {
  std::string id;
  // Raw status ("OK", "UNAUTHENTICATED", ...); unknown values are kept.
  std::string status;
  std::optional<absl::Time> created_time;
  std::string public_key;
  Secret refresh_token;
  Secret private_key;
  Secret access_token;
};

// POST /users/{leafUserId}/ag-leader-credentials request body.
struct NewProviderCredentials {
  Secret refresh_token;
  std::string public_key;
  Secret private_key;
  Secret access_token;  // sent only when not empty
};

// One element of GET /users/{leafUserId}/ag-leader-credentials/events.
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
