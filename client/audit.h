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
//
// Within Leaf's request budget: the server answers users it could not read
// before a call's deadline as LEAF_RATE_LIMITED with a RetryInfo (or fails a
// whole call so). Those users are not printed yet: after the largest delay
// among them (at most 60 s; 2 s when none is given) they are asked again, in
// chunks, up to --max_rate_limited_waits rounds or until two rounds in a row
// read none of them; whoever is left then is an ERROR row (LEAF_RATE_LIMITED).
// The progress shows an ETA from the budget the server announces
// (x-leaf-budget-bulk-per-minute) and says while it waits.
#ifndef CLIENT_AUDIT_H_
#define CLIENT_AUDIT_H_

#include <functional>
#include <ostream>

#include "absl/time/time.h"
#include "client/invocation.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"

namespace leafsvc::client {

// What an audit waits with and reads the time from; tests replace them so
// that waiting for the budget takes no time.
struct AuditDeps {
  std::function<void(absl::Duration)> sleep;  // absl::SleepFor when empty
  std::function<absl::Time()> now;            // absl::Now when empty (progress)
};

// `err_is_terminal` decides what --progress=auto means.
int RunAudit(const Invocation& invocation, leaf::agleader::v1::AgLeaderCredentials::Stub& stub,
             std::ostream& out, std::ostream& err, bool err_is_terminal, AuditDeps deps = {});

}  // namespace leafsvc::client

#endif  // CLIENT_AUDIT_H_
