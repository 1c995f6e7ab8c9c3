// The flags of connect links (docs/connect.md): the AgLeader application's
// keys, AgFiniti's endpoints, where growers reach the service and what the
// links allow. Connect links are on when --agleader_public_key is set; then
// the private key, --connect_public_url and --connect_listen are required.
#ifndef SERVER_CONNECT_CONNECT_FLAGS_H_
#define SERVER_CONNECT_CONNECT_FLAGS_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "server/config/flags.h"
#include "server/connect/connect_options.h"

namespace leafsvc::connect {

// What the flags configure beyond the flow's options: the pages' listener.
struct ConnectConfig {
  ConnectOptions options;
  std::string listen;        // host:port of the grower's pages
  std::string display_name;  // who asks, on the pages
};

void AddConnectFlags(FlagSet& flags);
// nullopt when connect links are off (no --agleader_public_key).
// INVALID_ARGUMENT naming the flag for a missing or malformed value (values
// of secret flags are never quoted).
absl::StatusOr<std::optional<ConnectConfig>> ReadConnectFlags(const FlagSet& flags);

}  // namespace leafsvc::connect

#endif  // SERVER_CONNECT_CONNECT_FLAGS_H_
