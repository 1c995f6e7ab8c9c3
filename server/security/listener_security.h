// Who may call this service: TLS on the gRPC listener (certificate and key),
// optional mutual TLS (client CA), and optional caller API keys sent as
// `authorization: Bearer <key>` metadata. A call without valid credentials is
// refused with UNAUTHENTICATED before any handler runs.
#ifndef SERVER_SECURITY_LISTENER_SECURITY_H_
#define SERVER_SECURITY_LISTENER_SECURITY_H_

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/config/flags.h"
#include "server/secrets/secret.h"

namespace leafsvc {

struct ListenerSecurityOptions {
  std::string tls_cert_file;   // PEM certificate chain; TLS is on when set
  std::string tls_key_file;    // PEM private key of tls_cert_file
  std::string client_ca_file;  // PEM CA bundle; when set, clients must present a cert it signed
  std::string api_keys_file;   // one key per line; when set (or api_keys), callers need one
  Secret api_keys;             // comma-separated keys (environment use)
  // Whether grpc.health.v1 and server reflection need an API key too.
  bool protect_health_and_reflection = false;
};

// Declares the listener security flags on `flags` (part of the server's table).
void AddListenerSecurityFlags(FlagSet& flags);
// Reads them back after Parse and checks them, files included: INVALID_ARGUMENT
// naming the flag (and file) for inconsistent settings, an unreadable file, a
// file without a certificate, key or API key, or a key that does not match
// the certificate. Messages never hold a key or a file's content.
absl::StatusOr<ListenerSecurityOptions> ReadListenerSecurityFlags(const FlagSet& flags);

// True when neither TLS client certificates nor API keys authenticate callers.
bool CallersUnauthenticated(const ListenerSecurityOptions& options);

// Credentials for ServerBuilder::AddListeningPort, with the API key check
// installed (see caller_auth.h). Reads and checks the files again, with the
// same errors as ReadListenerSecurityFlags.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> BuildServerCredentials(
    const ListenerSecurityOptions& options);

}  // namespace leafsvc

#endif  // SERVER_SECURITY_LISTENER_SECURITY_H_
