// Where agleader_client's secrets come from (command line, stdin, files,
// environment) and how they are kept out of its output.
//
// Secrets (refresh token, private key, access token, API key) are never part
// of a usage error, an error report or a default (basic view) output: the
// request values are never formatted, and Redact() scrubs them from anything
// the server sends back as a second line of defence.
#ifndef CLIENT_SECRETS_H_
#define CLIENT_SECRETS_H_

#include <istream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "leaf/agleader/v1/agleader_credentials.pb.h"
#include "server/config/flags.h"
#include "server/secrets/secret.h"

namespace leafsvc::client {

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

// Reads the API key from a file: its one line that is not blank or a '#'
// comment, surrounding whitespace trimmed. No key, or more than one, is an
// error naming the file (and line), never its content.
absl::StatusOr<Secret> ReadApiKeyFile(const std::string& path);

// Resolves the secrets of a create request. `on_command_line` names the
// flags given in argv (not the environment). Highest precedence first:
//   1. its command-line flag (--refresh_token, --private_key, --access_token)
//   2. a "name=value" line on stdin, with --secrets_from_stdin
//   3. for the private key: the file named by --private_key_file
//   4. its environment variable (AGLEADER_CLIENT_REFRESH_TOKEN, ...)
// --private_key and --private_key_file together on the command line are an
// error. Every value seen is appended to `secrets`, winner or not.
absl::Status ResolveCreateSecrets(const FlagSet& flags,
                                  const std::set<std::string>& on_command_line, std::istream& in,
                                  leaf::agleader::v1::CreateCredentialsRequest* request,
                                  std::vector<std::string>* secrets);

// Resolves the API key (empty: none), highest precedence first: --api_key on
// the command line, --api_key_file (command line or environment), then
// AGLEADER_CLIENT_API_KEY. --api_key and --api_key_file together on the
// command line are an error; so is a key that is not printable ASCII without
// spaces (it could not be sent as metadata). The key is appended to
// `secrets`.
absl::StatusOr<Secret> ResolveApiKey(const FlagSet& flags,
                                     const std::set<std::string>& on_command_line,
                                     std::vector<std::string>* secrets);

// Replaces every occurrence of each secret of at least kMinRedactLength
// characters with "[redacted]" (shorter ones would mangle ordinary text).
inline constexpr size_t kMinRedactLength = 6;
std::string Redact(absl::string_view text, const std::vector<std::string>& secrets);

}  // namespace leafsvc::client

#endif  // CLIENT_SECRETS_H_
