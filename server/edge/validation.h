// Request validation, done before anything is sent to Leaf. Every problem in
// a request is reported at once, as INVALID_ARGUMENT (reason INVALID_REQUEST)
// with one google.rpc.BadRequest field violation per problem.
#ifndef SERVER_EDGE_VALIDATION_H_
#define SERVER_EDGE_VALIDATION_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
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

// BatchGetCredentials: 1 to kMaxBatchSize ids, each a Leaf user id
// (duplicates allowed), and the view rules of GetCredentials.
inline constexpr int kMaxBatchSize = 500;
absl::Status Validate(const ::leaf::agleader::v1::BatchGetCredentialsRequest& request,
                      const ValidationOptions& options);
// ListCredentials: page_size as ListCredentialEvents, known statuses, the
// view rules of GetCredentials. The page token is checked when decoded.
absl::Status Validate(const ::leaf::agleader::v1::ListCredentialsRequest& request,
                      const ValidationOptions& options);

// WatchCredentials: 1 to kMaxWatchedPerStream distinct ids (compared in
// their canonical spelling), each valid for GetCredentials with the view.
inline constexpr int kMaxWatchedPerStream = 100;
absl::Status Validate(const ::leaf::agleader::v1::WatchCredentialsRequest& request,
                      const ValidationOptions& options);

// CreateConnectLink: a Leaf user id, a return_url of at most
// connect::kMaxReturnUrlBytes without control characters (whether it is
// allowed is the connect flow's policy), a ttl within connect::kMinLinkTtl
// and connect::kMaxLinkTtl when set.
absl::Status Validate(const ::leaf::agleader::v1::CreateConnectLinkRequest& request);
// GetConnectLink: `name` is "connectLinks/{id}", the id 16 to 64 characters
// of [A-Za-z0-9_-].
absl::Status Validate(const ::leaf::agleader::v1::GetConnectLinkRequest& request);
// The id of a name that passed Validate.
std::string ConnectLinkIdOf(absl::string_view name);

}  // namespace leafsvc

#endif  // SERVER_EDGE_VALIDATION_H_
