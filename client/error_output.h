// agleader_client's report of a failed call, on stderr: the gRPC status, the
// google.rpc details the service attaches, and a hint where the cause is
// likely on the client's side (TLS or API key settings).
#ifndef CLIENT_ERROR_OUTPUT_H_
#define CLIENT_ERROR_OUTPUT_H_

#include <grpcpp/grpcpp.h>

#include <string>

#include "client/invocation.h"

namespace leafsvc::client {

// "NOT_FOUND" etc.
std::string StatusCodeName(grpc::StatusCode code);

// The error report:
//   error: <CODE_NAME> (<number>): <message>
//   reason: <ErrorInfo.reason>
//   metadata: key=value, ...            (sorted by key)
//     field <field>: <description>      (one per BadRequest violation)
//   retry after: <N>s                   (RetryInfo)
std::string FormatError(const grpc::Status& status);

// A "hint: ..." line for errors that the client's own settings likely
// caused, else "": UNAVAILABLE over TLS (trust, name or client
// certificate), and UNAUTHENTICATED from the listener's API key check
// (which, unlike Leaf's refusals, carries no details). Never holds the key.
std::string FormatHint(const grpc::Status& status, const ClientOptions& options);

}  // namespace leafsvc::client

#endif  // CLIENT_ERROR_OUTPUT_H_
