// agleader_client watch: opens a WatchCredentials stream and prints each
// change as it arrives, one line each (--json: one JSON object per line, for
// piping into jq or a log shipper), secrets scrubbed as for every command.
#ifndef CLIENT_WATCH_H_
#define CLIENT_WATCH_H_

#include <ostream>
#include <string>

#include "client/invocation.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"

namespace leafsvc::client {

// One readable line, e.g.
// "2024-05-01T10:00:00Z 3fa8... STATUS_CHANGED OK -> UNAUTHENTICATED id=... (leaf alert)".
std::string FormatChange(const leaf::agleader::v1::CredentialsChange& change);

// Reads the stream until it ends; returns kExitRpcError when it ends with an
// error (printed on `err`), kExitOk otherwise.
int RunWatch(const Invocation& invocation, leaf::agleader::v1::AgLeaderCredentials::Stub& stub,
             std::ostream& out, std::ostream& err);

}  // namespace leafsvc::client

#endif  // CLIENT_WATCH_H_
