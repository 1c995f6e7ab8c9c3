// What `agleader_client audit` is asked to check: its flags, and the list of
// user ids read from --users (a file, or - for stdin).
#ifndef CLIENT_AUDIT_INPUT_H_
#define CLIENT_AUDIT_INPUT_H_

#include <istream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/invocation.h"
#include "server/config/flags.h"

namespace leafsvc::client {

// Longest line of a --users list: an id is 36 bytes; a longer line means the
// wrong file (or /dev/zero), and reading stops there.
inline constexpr size_t kMaxUserLineBytes = 4096;

// One Leaf user id per line; surrounding whitespace dropped; blank lines and
// lines starting with # skipped. An id that is not a UUID, or a line over
// kMaxUserLineBytes, is an error naming `source` and the line number (the
// line itself is not shown: a file of ids may be the wrong file, holding
// anything). At least one id is required.
absl::StatusOr<std::vector<std::string>> ParseUserList(std::istream& in, absl::string_view source);

// --users (read from `in` when "-"), --csv, --chunk_size, --progress,
// --max_rate_limited_waits.
absl::Status ParseAuditOptions(const FlagSet& flags, std::istream& in, AuditOptions* audit);

}  // namespace leafsvc::client

#endif  // CLIENT_AUDIT_INPUT_H_
