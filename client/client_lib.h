// The testable parts of agleader_client: command-line parsing (flags with
// environment twins, secrets from flags, environment, stdin or a file),
// readable and JSON output, and error formatting. main() in
// agleader_client.cc only wires these to a channel and a stub.
//
// Secrets (refresh token, private key, access token) are never part of a
// usage error, an error report or a default (basic view) output: the request
// values are never formatted, and Redact() scrubs them from anything the
// server sends back as a second line of defence.
#ifndef CLIENT_CLIENT_LIB_H_
#define CLIENT_CLIENT_LIB_H_

#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"

namespace leafsvc::client {

// Exit codes of agleader_client.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRpcError = 1;    // the call failed (gRPC status)
inline constexpr int kExitUsageError = 2;  // bad command line or input

// Prefix of every flag's environment twin, e.g. AGLEADER_CLIENT_SERVER.
inline constexpr absl::string_view kEnvPrefix = "AGLEADER_CLIENT_";

enum class Command { kGet, kCreate, kDelete, kEvents };

// "get", "create", "delete" or "events".
absl::string_view CommandName(Command command);

// How to reach the server. Transport security is decided by
// MakeChannelCredentials() alone, so TLS flags (--tls_ca, ...) only need a
// field here, a flag in the table and a branch there.
struct ClientOptions {
  std::string server = "127.0.0.1:50051";
  // Deadline of each call; zero or infinite means no deadline.
  absl::Duration timeout = absl::Seconds(10);
  bool json = false;
  std::string service_config_path;  // empty: none
  std::string service_config_json;  // the file's contents (valid JSON)
};

// A fully parsed command line: which command to run with which request.
struct Invocation {
  Command command = Command::kGet;
  ClientOptions options;
  // Only the request of `command` is filled in.
  leaf::agleader::v1::GetCredentialsRequest get_request;
  leaf::agleader::v1::CreateCredentialsRequest create_request;
  leaf::agleader::v1::DeleteCredentialsRequest delete_request;
  leaf::agleader::v1::ListCredentialEventsRequest events_request;
  bool all_pages = false;  // events --all
  // Every secret value read from any source (for Redact()).
  std::vector<std::string> secrets;
};

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
// `in` is read only with --secrets_from_stdin.
//
// Where a secret comes from, highest precedence first:
//   1. its command-line flag (--refresh_token, --private_key, --access_token)
//   2. a "name=value" line on stdin, with --secrets_from_stdin
//   3. for the private key: the file named by --private_key_file
//   4. its environment variable (AGLEADER_CLIENT_REFRESH_TOKEN, ...)
// --private_key and --private_key_file together on the command line are a
// usage error.
ParseResult ParseCommandLine(int argc, char** argv, std::istream& in);

// The usage text: general (nullopt) or for one command, with the flag table.
std::string Usage(std::optional<Command> command);

// Secrets read from stdin: lines "refresh_token=...", "private_key=..." and
// "access_token=..." (value = everything after the first '='; a trailing
// '\r' is dropped). Blank lines and lines starting with '#' are skipped.
// Unknown keys, lines without '=' and repeated keys are errors whose
// messages give the line number but never the line.
struct StdinSecrets {
  std::optional<std::string> refresh_token;
  std::optional<std::string> private_key;
  std::optional<std::string> access_token;
};
absl::StatusOr<StdinSecrets> ReadSecrets(std::istream& in);

// Reads a private key file whole and strips a single trailing newline ("\n"
// or "\r\n"). The server accepts printable characters only, so the key must
// be on one line (e.g. a PEM body with its line breaks removed).
absl::StatusOr<std::string> ReadPrivateKeyFile(const std::string& path);

// Channel setup from the options (insecure for now).
std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(
    const ClientOptions& options);
grpc::ChannelArguments MakeChannelArguments(const ClientOptions& options);
// Sets the call deadline from options.timeout (if any).
void ApplyTimeout(const ClientOptions& options, grpc::ClientContext* context);

// Readable output. Secret values are printed only in CREDENTIALS_VIEW_FULL
// (the user asked for them); the hints always.
std::string FormatCredentials(const leaf::agleader::v1::Credentials& credentials,
                              leaf::agleader::v1::CredentialsView view);
// One event as a block followed by a blank line.
std::string FormatEvent(const leaf::agleader::v1::CredentialEvent& event);
// All events of a page ("no events" when there are none) and then
// "next page token: ..." when there is one.
std::string FormatEvents(
    const leaf::agleader::v1::ListCredentialEventsResponse& response);
std::string FormatDeleted(absl::string_view leaf_user_id);

// The message as JSON with lowerCamelCase field names (like grpcurl),
// indented, with a trailing newline.
absl::StatusOr<std::string> FormatJson(const google::protobuf::Message& message);

// "NOT_FOUND" etc.
std::string StatusCodeName(grpc::StatusCode code);

// The error report:
//   error: <CODE_NAME> (<number>): <message>
//   reason: <ErrorInfo.reason>
//   metadata: key=value, ...            (sorted by key)
//     field <field>: <description>      (one per BadRequest violation)
//   retry after: <N>s                   (RetryInfo)
std::string FormatError(const grpc::Status& status);

// Replaces every occurrence of each secret of at least kMinRedactLength
// characters with "[redacted]" (shorter ones would mangle ordinary text).
inline constexpr size_t kMinRedactLength = 6;
std::string Redact(absl::string_view text,
                   const std::vector<std::string>& secrets);

}  // namespace leafsvc::client

#endif  // CLIENT_CLIENT_LIB_H_
