// How agleader_client reaches the server: the service config (retries), TLS
// and mutual TLS credentials, the TLS target name, and what every call
// carries (deadline, API key).
#ifndef CLIENT_CHANNEL_H_
#define CLIENT_CHANNEL_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/invocation.h"

namespace leafsvc::client {

// The service config JSON for --service_config `path`: "" is the built-in
// client/service_config.json, "none" is no config (""), anything else a file
// that must hold a JSON object.
absl::StatusOr<std::string> LoadServiceConfig(const std::string& path);

// Checks the TLS settings and reads their files into tls->*_pem. Sets
// tls->enabled when any file or the server name is given. Errors
// (INVALID_ARGUMENT) name the flag and the path, never a file's content:
// --cert_file without --key_file or the reverse, an unreadable file, a file
// without a PEM certificate or private key.
absl::Status LoadTlsFiles(TlsOptions* tls);

// TLS (with the client certificate, for mutual TLS) or insecure.
std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(const ClientOptions& options);
// The service config (and retries with it) and the TLS target name.
grpc::ChannelArguments MakeChannelArguments(const ClientOptions& options);
std::shared_ptr<grpc::Channel> MakeChannel(const ClientOptions& options);

// Sets the call deadline from options.timeout (if any).
void ApplyTimeout(const ClientOptions& options, grpc::ClientContext* context);
// Adds "authorization: Bearer <key>" when options.api_key is set. Metadata
// rather than call credentials: gRPC refuses call credentials on plaintext
// channels, and servers accept API keys over plaintext on loopback.
void ApplyApiKey(const ClientOptions& options, grpc::ClientContext* context);
// Both: what every call of the client starts from.
void PrepareContext(const ClientOptions& options, grpc::ClientContext* context);

}  // namespace leafsvc::client

#endif  // CLIENT_CHANNEL_H_
