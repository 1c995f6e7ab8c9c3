// Leaf's structs -> the public proto resources (names, status enum, views).
#ifndef SERVER_RESOURCES_H_
#define SERVER_RESOURCES_H_

#include <string>

#include "absl/strings/string_view.h"
#include "leaf/agleader/v1/agleader_credentials.pb.h"
#include "server/leaf/leaf_types.h"

namespace leafsvc {

// The one spelling of a Leaf user id, used by every RPC for what it sends to
// Leaf and what it returns (names, leaf_user_id, ErrorInfo, logs, page-token
// binding): lower case, so "3FA8..." and "3fa8..." are one user (Leaf and
// its emulator compare ids as strings).
std::string CanonicalLeafUserId(absl::string_view leaf_user_id);

// "users/{leaf_user_id}/agLeaderCredentials"
std::string CredentialsName(absl::string_view leaf_user_id);

// Unknown strings map to CREDENTIAL_STATUS_UNSPECIFIED (the raw value is kept
// in Credentials.leaf_status).
::leaf::agleader::v1::CredentialStatus ToCredentialStatus(absl::string_view leaf_status);

// Fills `out`. Secret values are copied only for CREDENTIALS_VIEW_FULL; hints
// always.
void ToProto(const leafsvc::leaf::ProviderCredentials& in, absl::string_view leaf_user_id,
             ::leaf::agleader::v1::CredentialsView view, ::leaf::agleader::v1::Credentials* out);

// The credentials a CreateCredentialsRequest asks Leaf to store.
leafsvc::leaf::NewProviderCredentials FromProto(
    const ::leaf::agleader::v1::CreateCredentialsRequest& request);

// `headers` and `body` are raw only for CREDENTIALS_VIEW_FULL; otherwise
// redacted of the secrets they carry (server/util/redact_events.h).
void ToProto(const leafsvc::leaf::CredentialEvent& in, absl::string_view leaf_user_id,
             ::leaf::agleader::v1::CredentialsView view,
             ::leaf::agleader::v1::CredentialEvent* out);

// "****" + the last 4 characters (code points, so always valid UTF-8) of a
// secret of 12+ characters, "****" for shorter ones, "" when empty.
std::string SecretHint(const Secret& secret);

}  // namespace leafsvc

#endif  // SERVER_RESOURCES_H_
