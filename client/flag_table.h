// The commands of agleader_client and the table of their flags: one place
// that --help, the parser and the environment twins are all derived from.
#ifndef CLIENT_FLAG_TABLE_H_
#define CLIENT_FLAG_TABLE_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/invocation.h"
#include "server/config/flags.h"

namespace leafsvc::client {

// Which commands a flag belongs to.
enum CommandMask : unsigned {
  kGetMask = 1u << 0,
  kCreateMask = 1u << 1,
  kDeleteMask = 1u << 2,
  kEventsMask = 1u << 3,
  kAuditMask = 1u << 4,
  kWatchMask = 1u << 5,
  kConnectMask = 1u << 6,
  kGetLinkMask = 1u << 7,
  kAllCommands = kGetMask | kCreateMask | kDeleteMask | kEventsMask | kAuditMask | kWatchMask |
                 kConnectMask | kGetLinkMask,
};

struct FlagSpec {
  const char* name;
  FlagSet::Type type;
  const char* default_value;
  const char* help;
  unsigned commands;
  bool secret;
  // The environment twin when it is not kEnvPrefix + NAME.
  const char* env = nullptr;
};

struct CommandSpec {
  Command command;
  const char* name;
  unsigned mask;
  const char* synopsis;
  const char* description;
};

// The flag named `name` (without "--"), or nullptr.
const FlagSpec* FindFlag(absl::string_view name);
// The command named `name` ("get", ...), or nullptr.
const CommandSpec* FindCommand(absl::string_view name);
const CommandSpec& GetCommandSpec(Command command);

// "get", "create", "delete", "events", "audit", "watch", "connect" or "get-link".
absl::string_view CommandName(Command command);

// A FlagSet with the flags of the commands in `mask`. With `annotate`, the
// help of each command flag names its commands.
FlagSet MakeFlagSet(unsigned mask, bool annotate = false);

// The usage text: general (nullopt) or for one command, with the flag table.
std::string Usage(std::optional<Command> command);

// The whole content of the file a flag names; errors name the flag and the
// path ("--ca_file: cannot open \"/x\""), never any content.
absl::StatusOr<std::string> ReadFlagFile(absl::string_view flag, const std::string& path);

}  // namespace leafsvc::client

#endif  // CLIENT_FLAG_TABLE_H_
