#include "server/security/listener_security.h"

namespace leafsvc {

void AddListenerSecurityFlags(FlagSet& /*flags*/) {}

absl::StatusOr<ListenerSecurityOptions> ReadListenerSecurityFlags(const FlagSet& /*flags*/) {
  return ListenerSecurityOptions{};
}

bool CallersUnauthenticated(const ListenerSecurityOptions& options) {
  return options.client_ca_file.empty() && options.api_keys_file.empty() &&
         options.api_keys.empty();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> BuildServerCredentials(
    const ListenerSecurityOptions& /*options*/) {
  return grpc::InsecureServerCredentials();
}

}  // namespace leafsvc
