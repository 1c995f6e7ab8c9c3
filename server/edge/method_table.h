// The rows of the method table: every unary RPC of AgLeaderCredentials as
// data for the unary pipeline (server/edge/unary_pipeline.h), and the admission
// of WatchCredentials. Each row names the method, the Leaf user it is
// about, its secret fields, its validator, the operation it starts and how
// the operation's result becomes the response.
#ifndef SERVER_EDGE_METHOD_TABLE_H_
#define SERVER_EDGE_METHOD_TABLE_H_

#include <vector>

#include "google/protobuf/empty.pb.h"
#include "leaf/agleader/v1/agleader_credentials.pb.h"
#include "server/edge/unary_method.h"
#include "server/leaf/leaf_types.h"
#include "server/operations/batch_get.h"
#include "server/operations/event_pages.h"
#include "server/operations/user_listing.h"

namespace leafsvc::methods {

namespace v1 = ::leaf::agleader::v1;

// The result of DeleteCredentials' operation: nothing but success.
struct Deleted {};

const UnaryMethod<v1::GetCredentialsRequest, v1::Credentials, leaf::ProviderCredentials>&
GetCredentials();
const UnaryMethod<v1::CreateCredentialsRequest, v1::Credentials, leaf::ProviderCredentials>&
CreateCredentials();
const UnaryMethod<v1::DeleteCredentialsRequest, google::protobuf::Empty, Deleted>&
DeleteCredentials();
const UnaryMethod<v1::ListCredentialEventsRequest, v1::ListCredentialEventsResponse, EventPage>&
ListCredentialEvents();
const UnaryMethod<v1::ListCredentialsRequest, v1::ListCredentialsResponse, ListingResult>&
ListCredentials();
const UnaryMethod<v1::BatchGetCredentialsRequest, v1::BatchGetCredentialsResponse,
                  std::vector<BatchGet::Result>>&
BatchGetCredentials();

// Connect links (server/edge/connect_rows.cc); both fail with
// FAILED_PRECONDITION (CONNECT_NOT_CONFIGURED) when MethodEnv::connect is null.
const UnaryMethod<v1::CreateConnectLinkRequest, v1::ConnectLink, connect::ConnectLink>&
CreateConnectLink();
const UnaryMethod<v1::GetConnectLinkRequest, v1::ConnectLink, connect::ConnectLink>&
GetConnectLink();

// WatchCredentials is a stream; its admission is the same as the unary
// methods' (the rest is server/edge/service_watch.cc).
const MethodAdmission<v1::WatchCredentialsRequest>& WatchCredentials();

// The name of every method with a row (tests check it against the service
// descriptor, so a new RPC cannot be forgotten).
std::vector<absl::string_view> Names();

}  // namespace leafsvc::methods

#endif  // SERVER_EDGE_METHOD_TABLE_H_
