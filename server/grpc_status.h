// The gRPC edge of error handling: an absl::Status (code, message and the
// StatusDetails attached by the layer that knew them) becomes a grpc::Status
// whose binary details are a google.rpc.Status holding a google.rpc.ErrorInfo
// (always), a BadRequest (field violations) and a RetryInfo (retry delay).
// Codes pass through unchanged: the mapping from Leaf's behaviour to codes
// lives in server/leaf/leaf_errors.cc.
#ifndef SERVER_GRPC_STATUS_H_
#define SERVER_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace leafsvc {

// Every text is redacted of the process's secrets and JWTs and shortened on
// the way (ExitStatus in server/util/status_details.h); callers that know a
// call's own secrets pass them through ExitStatus first.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace leafsvc

#endif  // SERVER_GRPC_STATUS_H_
