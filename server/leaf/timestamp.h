// Leaf's timestamps. The docs say yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z', but real
// responses carry 0, 3 or 6 fraction digits and sometimes no 'Z'.
#ifndef SERVER_LEAF_TIMESTAMP_H_
#define SERVER_LEAF_TIMESTAMP_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace leafsvc::leaf {

// Parses "YYYY-MM-DDTHH:MM:SS[.F{1,9}][Z]" as UTC. Nothing else is accepted
// (no offsets other than Z, no lower-case t/z, no surrounding spaces).
absl::StatusOr<absl::Time> ParseLeafTimestamp(absl::string_view text);

// Formats with 6 fraction digits and a Z, e.g. "2023-04-21T12:16:27.997586Z".
std::string FormatLeafTimestamp(absl::Time time);

}  // namespace leafsvc::leaf

#endif  // SERVER_LEAF_TIMESTAMP_H_
