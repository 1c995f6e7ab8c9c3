// `agleader_client audit`: the state of many users' AgLeader credentials in
// one run. Without --users it walks every user of the account with
// ListCredentials (pages of 500); with --users it asks BatchGetCredentials
// for chunks of --chunk_size ids. Rows go to `out` as they arrive, progress
// to `err`, then a summary by status (on `out` for the table, on `err` for
// --csv and --json so that `out` stays machine-readable).
//
// Exit code: 1 when anything failed (a call, or a user's error row: the
// audit is incomplete); else 3 when any credentials need re-authorization
// (UNAUTHENTICATED or MISSING_PERMISSION); else 0. TEMPORARILY_UNAVAILABLE,
// unknown statuses and users without credentials are counted but do not
// change the exit code.
#ifndef CLIENT_AUDIT_H_
#define CLIENT_AUDIT_H_

#include <ostream>

#include "client/invocation.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"

namespace leafsvc::client {

// `err_is_terminal` decides what --progress=auto means.
int RunAudit(const Invocation& invocation, leaf::agleader::v1::AgLeaderCredentials::Stub& stub,
             std::ostream& out, std::ostream& err, bool err_is_terminal);

}  // namespace leafsvc::client

#endif  // CLIENT_AUDIT_H_
