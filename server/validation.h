// Request validation, done before anything is sent to Leaf. Every problem in
// a request is reported at once, as INVALID_ARGUMENT (reason INVALID_REQUEST)
// with one google.rpc.BadRequest field violation per problem.
#ifndef SERVER_VALIDATION_H_
#define SERVER_VALIDATION_H_

#include "absl/status/status.h"
#include "leaf/agleader/v1/agleader_credentials.pb.h"

namespace leafsvc {

inline constexpr size_t kMaxSecretFieldBytes = 8192;
inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 500;

struct ValidationOptions {
  // Whether CREDENTIALS_VIEW_FULL may be granted (--allow_full_view).
  bool allow_full_view = false;
};

absl::Status Validate(const ::leaf::agleader::v1::GetCredentialsRequest& request,
                      const ValidationOptions& options);
absl::Status Validate(const ::leaf::agleader::v1::CreateCredentialsRequest& request,
                      const ValidationOptions& options);
absl::Status Validate(const ::leaf::agleader::v1::DeleteCredentialsRequest& request);
// The page token itself is checked when it is decoded.
absl::Status Validate(const ::leaf::agleader::v1::ListCredentialEventsRequest& request,
                      const ValidationOptions& options = {});

}  // namespace leafsvc

#endif  // SERVER_VALIDATION_H_
