// agleader_client's readable output of a connect link (connect, get-link):
// what to send the grower (url), what to follow it by (name), how far the
// grower got (state) and until when the link works. Text from the server
// goes through Printable(); a link's `error` never holds a secret (the
// service's contract), but it is printed as the server's reason and
// message only, like any other error.
#ifndef CLIENT_CONNECT_OUTPUT_H_
#define CLIENT_CONNECT_OUTPUT_H_

#include <string>

#include "leaf/agleader/v1/agleader_credentials.pb.h"

namespace leafsvc::client {

// "PENDING", ..., or "STATE_<n>" for a state this client does not know.
std::string ConnectLinkStateName(leaf::agleader::v1::ConnectLink::State state);

// The google.rpc.ErrorInfo reason of a link's error, else "CODE_<n>"; ""
// when the link has no error.
std::string ConnectLinkErrorReason(const leaf::agleader::v1::ConnectLink& link);

std::string FormatConnectLink(const leaf::agleader::v1::ConnectLink& link);

}  // namespace leafsvc::client

#endif  // CLIENT_CONNECT_OUTPUT_H_
