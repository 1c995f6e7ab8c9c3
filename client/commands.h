// Running agleader_client's commands: one call per command (events --all:
// one per page) over a channel made from the invocation's options, with the
// result on `out` and errors on `err`, secrets scrubbed from both.
#ifndef CLIENT_COMMANDS_H_
#define CLIENT_COMMANDS_H_

#include <istream>
#include <ostream>

#include "client/invocation.h"

namespace leafsvc::client {

// Runs a parsed invocation; returns the exit code (kExitOk or kExitRpcError).
int Run(const Invocation& invocation, std::ostream& out, std::ostream& err);

// The whole program: parses argv (reading `in` only with
// --secrets_from_stdin), prints help or a usage error, or runs the command.
// Returns the exit code.
int RunCommandLine(int argc, char** argv, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace leafsvc::client

#endif  // CLIENT_COMMANDS_H_
