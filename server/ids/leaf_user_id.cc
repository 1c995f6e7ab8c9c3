#include "server/ids/leaf_user_id.h"

#include "absl/strings/ascii.h"

namespace leafsvc {

bool IsLeafUserId(absl::string_view id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (id[i] != '-') return false;
    } else if (!absl::ascii_isxdigit(static_cast<unsigned char>(id[i]))) {
      return false;
    }
  }
  return true;
}

std::string CanonicalLeafUserId(absl::string_view leaf_user_id) {
  return absl::AsciiStrToLower(leaf_user_id);
}

}  // namespace leafsvc
