// The gRPC edge of error handling: an absl::Status (code, message and the
// StatusDetails attached by the layer that knew them) becomes a grpc::Status
// whose binary details are a google.rpc.Status holding a google.rpc.ErrorInfo
// (always), a BadRequest (field violations) and a RetryInfo (retry delay).
// Codes pass through unchanged: the mapping from Leaf's behaviour to codes
// lives in server/leaf/leaf_errors.cc.
#ifndef SERVER_EDGE_GRPC_STATUS_H_
#define SERVER_EDGE_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "server/secrets/redact.h"

namespace leafsvc {

// The one exit of an error towards a caller: every text of `status` is
// redacted by `redactor` (the process's secrets and JWTs, plus the call's
// own secrets when the caller passes a Redactor that knows them) and
// shortened, once (ExitStatus in server/errors/status_details.h), then
// converted. Nothing redacts again after it.
grpc::Status ToGrpcStatus(const absl::Status& status, const Redactor& redactor = Redactor());

}  // namespace leafsvc

#endif  // SERVER_EDGE_GRPC_STATUS_H_
