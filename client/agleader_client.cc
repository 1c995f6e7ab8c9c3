// agleader_client: a command-line client of leaf.agleader.v1.AgLeaderCredentials.
//
//   agleader_client [global flags] <get|create|delete|events> [command flags]
//
// Output goes to stdout (readable, or JSON with --json); errors go to stderr
// in readable form. Exit status: 0 success, 1 the call failed, 2 usage error.
// The parts live in client/: flag_table and command_line (parsing), secrets,
// channel (TLS, API key, service config), text/json/error output, and
// commands (the runners). --help lists the flags.
#include <iostream>

#include "client/commands.h"

int main(int argc, char** argv) {
  return leafsvc::client::RunCommandLine(argc, argv, std::cin, std::cout, std::cerr);
}
