// The API key check on the gRPC listener, and the server credentials that
// carry it. The check runs in gRPC's server auth filter (an auth metadata
// processor), so a refused call never reaches a handler.
#ifndef SERVER_SECURITY_CALLER_AUTH_H_
#define SERVER_SECURITY_CALLER_AUTH_H_

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/support/status.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/secrets/secret.h"
#include "server/security/api_keys.h"

namespace leafsvc {

// The auth context property naming the API key a connection authenticated
// with: a SHA-256 prefix of the key (hex), never the key. Set on the first
// call a connection makes with an accepted key (gRPC hands the processor the
// connection's context, which its calls share), so all of that connection's
// calls count as that key's (e.g. --watch_max_users_per_caller).
inline constexpr char kApiKeyIdProperty[] = "leafsvc_api_key_id";

// Which calls need an API key, and the check of one call.
class CallerAuthPolicy {
 public:
  CallerAuthPolicy(ApiKeySet keys, bool protect_health_and_reflection)
      : keys_(std::move(keys)), protect_health_and_reflection_(protect_health_and_reflection) {}

  // Whether a call to `path` ("/package.Service/Method") goes through without
  // a key: grpc.health.v1.Health and grpc.reflection.*, unless protected.
  bool IsExempt(absl::string_view path) const;

  // OK, or UNAUTHENTICATED saying what to send. `authorization` holds the
  // value of each `authorization` metadata entry of the call; one valid
  // "Bearer <key>" among them admits it (and is stored in `accepted` when
  // given). Messages never hold a presented key.
  grpc::Status Check(absl::string_view path, const std::vector<absl::string_view>& authorization,
                     absl::string_view* accepted = nullptr) const;

 private:
  ApiKeySet keys_;
  bool protect_health_and_reflection_;
};

// The listener's certificate and key, and for mutual TLS the CA bundle that
// must have signed each client's certificate.
struct TlsMaterial {
  std::string cert_chain;  // PEM
  Secret private_key;      // PEM
  std::string client_ca;   // PEM; empty: clients need no certificate
};

// Credentials for ServerBuilder::AddListeningPort: plaintext when `tls` is
// empty, else TLS (requiring and verifying a client certificate when
// tls->client_ca is set). When `policy` is set, every call is checked by it
// before any handler runs, and the `authorization` metadata is removed from
// the call, so a handler never sees the caller's key.
//
// Why not grpc::InsecureServerCredentials()/SslServerCredentials(): in gRPC
// 1.51 the insecure ones abort on SetAuthMetadataProcessor, although the core
// runs the server auth filter for plaintext connections too. These credentials
// wrap the core ones directly (grpc_insecure_server_credentials_create, or
// grpc_ssl_server_credentials_create_ex as SslServerCredentials does) and
// install one C metadata processor the same way for both.
std::shared_ptr<grpc::ServerCredentials> MakeListenerCredentials(
    const std::optional<TlsMaterial>& tls, std::shared_ptr<const CallerAuthPolicy> policy);

}  // namespace leafsvc

#endif  // SERVER_SECURITY_CALLER_AUTH_H_
