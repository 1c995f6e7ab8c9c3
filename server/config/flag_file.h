// Reads a file named by a flag (certificates, key lists, passwords), with
// errors that name the flag and the path but never the contents.
#ifndef SERVER_CONFIG_FLAG_FILE_H_
#define SERVER_CONFIG_FLAG_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace leafsvc {

// Files larger than this are refused as a mistake (certificates, keys and
// secrets are far smaller).
inline constexpr size_t kMaxFlagFileBytes = 1 << 20;

absl::StatusOr<std::string> ReadFlagFile(absl::string_view flag, const std::string& path);

// ReadFlagFile for a one-line secret: trailing CR/LF removed; empty, or
// holding a line break, is an error.
absl::StatusOr<std::string> ReadSecretFlagFile(absl::string_view flag, const std::string& path);

}  // namespace leafsvc

#endif  // SERVER_CONFIG_FLAG_FILE_H_
