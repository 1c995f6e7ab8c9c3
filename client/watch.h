// agleader_client watch: opens a WatchCredentials stream and prints each
// change as it arrives, one line each (--json: one JSON object per line, for
// piping into jq or a log shipper), secrets scrubbed as for every command.
// When a stream ends with a retriable status it watches the same users again
// with the resume_token of the last change received (client/rewatch.h says
// when and how soon), noting each re-watch on `err`.
#ifndef CLIENT_WATCH_H_
#define CLIENT_WATCH_H_

#include <functional>
#include <ostream>
#include <string>

#include "absl/time/time.h"
#include "client/invocation.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"

namespace leafsvc::client {

// One readable line, e.g.
// "2024-05-01T10:00:00Z 3fa8... STATUS_CHANGED OK -> UNAUTHENTICATED id=... (leaf alert)".
std::string FormatChange(const leaf::agleader::v1::CredentialsChange& change);

// What a watch waits with, reads the time from and draws the backoff's
// jitter from; tests replace them so that nothing really waits.
struct WatchDeps {
  std::function<void(absl::Duration)> sleep;  // absl::SleepFor when empty
  std::function<absl::Time()> now;            // absl::Now when empty
  std::function<double()> random;             // uniform in [0, 1) when empty
};

// Reads streams until one ends for good; returns kExitRpcError when it ends
// with an error (printed on `err`), kExitOk otherwise.
int RunWatch(const Invocation& invocation, leaf::agleader::v1::AgLeaderCredentials::Stub& stub,
             std::ostream& out, std::ostream& err, WatchDeps deps = {});

}  // namespace leafsvc::client

#endif  // CLIENT_WATCH_H_
