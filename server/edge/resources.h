// Leaf's structs <-> the public proto resources (names, status enum, views).
// Which provider fields map to which proto fields is the provider spec's
// data (FieldSpec::proto_field), applied by protobuf reflection; the
// overloads without a spec use AgLeader's, the provider of leaf.agleader.v1.
#ifndef SERVER_EDGE_RESOURCES_H_
#define SERVER_EDGE_RESOURCES_H_

#include <string>

#include "absl/strings/string_view.h"
#include "leaf/agleader/v1/agleader_credentials.pb.h"
#include "server/ids/leaf_user_id.h"
#include "server/leaf/leaf_types.h"
#include "server/providers/provider_spec.h"

namespace leafsvc {

// "users/{leaf_user_id}/agLeaderCredentials"
std::string CredentialsName(absl::string_view leaf_user_id);

// Unknown strings map to CREDENTIAL_STATUS_UNSPECIFIED (the raw value is kept
// in Credentials.leaf_status). Without a spec: AgLeader's.
::leaf::agleader::v1::CredentialStatus ToCredentialStatus(absl::string_view leaf_status,
                                                          const providers::ProviderSpec& provider);
::leaf::agleader::v1::CredentialStatus ToCredentialStatus(absl::string_view leaf_status);

// Fills `out`. Public fields are copied; secret fields get their
// `<field>_hint` always, their value only for CREDENTIALS_VIEW_FULL. Without
// a spec: the one `in` was decoded by (ProviderCredentials::provider), else
// AgLeader's.
void ToProto(const leafsvc::leaf::ProviderCredentials& in, absl::string_view leaf_user_id,
             ::leaf::agleader::v1::CredentialsView view, const providers::ProviderSpec& provider,
             ::leaf::agleader::v1::Credentials* out);
void ToProto(const leafsvc::leaf::ProviderCredentials& in, absl::string_view leaf_user_id,
             ::leaf::agleader::v1::CredentialsView view, ::leaf::agleader::v1::Credentials* out);

// The credentials a CreateCredentialsRequest asks Leaf to store: every
// field of the spec, read from the request field it names. Without a spec:
// AgLeader's (a server for another provider passes LeafClient::provider()).
leafsvc::leaf::NewProviderCredentials FromProto(
    const ::leaf::agleader::v1::CreateCredentialsRequest& request,
    const providers::ProviderSpec& provider);
leafsvc::leaf::NewProviderCredentials FromProto(
    const ::leaf::agleader::v1::CreateCredentialsRequest& request);

// `headers` and `body` are raw only for CREDENTIALS_VIEW_FULL; otherwise
// redacted of the secrets they carry (server/secrets/redact_events.h).
void ToProto(const leafsvc::leaf::CredentialEvent& in, absl::string_view leaf_user_id,
             ::leaf::agleader::v1::CredentialsView view,
             ::leaf::agleader::v1::CredentialEvent* out);

// "****" + the last 4 characters (code points, so always valid UTF-8) of a
// secret of 12+ characters, "****" for shorter ones, "" when empty.
std::string SecretHint(const Secret& secret);

}  // namespace leafsvc

#endif  // SERVER_EDGE_RESOURCES_H_
