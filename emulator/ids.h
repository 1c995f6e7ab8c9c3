// Random ids, UUIDs and timestamps in the shapes Leaf serves them.
#ifndef EMULATOR_IDS_H_
#define EMULATOR_IDS_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace leafemu {

// `n` cryptographically random bytes.
std::string RandomBytes(size_t n);
std::string HexEncode(absl::string_view bytes);
// A random (version 4) UUID, lower-case.
std::string NewUuidV4();
// ^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$
// (any version nibble: Leaf checks only the pattern).
bool IsUuidShaped(absl::string_view s);
// "2023-04-21T12:16:27.997586Z": UTC with microseconds.
std::string FormatTimestamp(absl::Time t);
std::string NowTimestamp();

}  // namespace leafemu

#endif  // EMULATOR_IDS_H_
