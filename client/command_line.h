// Parsing agleader_client's command line into an Invocation: the command
// (before or after the global flags), its flags and their environment twins,
// and the files and secrets they name.
#ifndef CLIENT_COMMAND_LINE_H_
#define CLIENT_COMMAND_LINE_H_

#include <istream>
#include <string>

#include "client/invocation.h"

namespace leafsvc::client {

struct ParseResult {
  enum class Outcome {
    kRun,         // run `invocation`
    kHelp,        // print `usage` to stdout, exit 0
    kUsageError,  // print "error: " + `message` and `usage` to stderr, exit 2
  };
  Outcome outcome = Outcome::kUsageError;
  Invocation invocation;
  std::string message;  // never contains a secret value
  std::string usage;
};

// Parses argv (argv[0] is the program name). Flags may come before or after
// the command; each one also has an environment twin (command line wins).
// `in` is read only with --secrets_from_stdin. Where secrets come from: see
// ResolveCreateSecrets() and ResolveApiKey() in secrets.h. Files (service
// config, TLS, keys) are read here, so a bad one is a usage error.
ParseResult ParseCommandLine(int argc, char** argv, std::istream& in);

}  // namespace leafsvc::client

#endif  // CLIENT_COMMAND_LINE_H_
