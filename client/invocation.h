// What one run of agleader_client is asked to do: the command, its request,
// how to reach the server and how to print. ParseCommandLine() fills it in,
// Run() carries it out; nothing in between reads flags or the environment.
#ifndef CLIENT_INVOCATION_H_
#define CLIENT_INVOCATION_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "leaf/agleader/v1/agleader_credentials.pb.h"
#include "server/secrets/secret.h"

namespace leafsvc::client {

// Exit codes of agleader_client.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRpcError = 1;    // the call failed (gRPC status)
inline constexpr int kExitUsageError = 2;  // bad command line or input
// audit: some credentials need the grower to re-authorize
// (UNAUTHENTICATED or MISSING_PERMISSION), and nothing failed.
inline constexpr int kExitNeedsReauthorization = 3;

// Prefix of every flag's environment twin, e.g. AGLEADER_CLIENT_SERVER.
inline constexpr absl::string_view kEnvPrefix = "AGLEADER_CLIENT_";

enum class Command { kGet, kCreate, kDelete, kEvents, kAudit, kWatch, kConnect, kGetLink };

// Transport security of the channel. The files are read while parsing, so
// a missing or malformed file is a usage error before any connection.
struct TlsOptions {
  bool enabled = false;
  std::string ca_file;    // empty: gRPC's default roots
  std::string cert_file;  // mutual TLS: with key_file
  std::string key_file;
  std::string server_name;  // empty: the host of --server
  std::string ca_pem;       // contents of the files above
  std::string cert_pem;
  Secret key_pem;
};

// How to reach the server and how to print its answers.
struct ClientOptions {
  std::string server = "127.0.0.1:50051";
  // Deadline of each call; zero or infinite means no deadline.
  absl::Duration timeout = absl::Seconds(10);
  bool json = false;
  std::string service_config_path;  // empty: the built-in one
  std::string service_config_json;  // the config's JSON; empty: none
  TlsOptions tls;
  // Sent as "authorization: Bearer <key>" on every call when not empty.
  Secret api_key;
};

// What `audit` checks and how it prints.
struct AuditOptions {
  // With --users: these ids (BatchGetCredentials in chunks); without: every
  // user of the account (ListCredentials).
  bool all_users = true;
  std::vector<std::string> users;
  int chunk_size = 100;
  bool csv = false;  // JSON lines come from ClientOptions::json
  enum class Progress { kAuto, kBar, kPlain, kNone };
  Progress progress = Progress::kAuto;
  // Rounds of waiting and asking again for users (or a chunk) that Leaf's
  // request budget deferred (LEAF_RATE_LIMITED) before reporting them.
  int max_rate_limited_waits = 30;
  // --links: a connect link (CreateConnectLink with `links_request`'s
  // return_url and ttl) for every user who must re-authorize.
  bool links = false;
  leaf::agleader::v1::CreateConnectLinkRequest links_request;
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
  leaf::agleader::v1::WatchCredentialsRequest watch_request;
  leaf::agleader::v1::CreateConnectLinkRequest connect_request;
  leaf::agleader::v1::GetConnectLinkRequest get_link_request;
  // connect, get-link: also print the link's URL as a QR code.
  bool qr = false;
  // watch: re-watches in a row after unhealthy streams; -1: for ever.
  int max_rewatch_attempts = -1;
  bool all_pages = false;  // events --all
  AuditOptions audit;
  // Every secret value read from any source (for Redact()).
  std::vector<std::string> secrets;
};

}  // namespace leafsvc::client

#endif  // CLIENT_INVOCATION_H_
