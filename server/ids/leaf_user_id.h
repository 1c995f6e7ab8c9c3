// Leaf user ids: their form and their one spelling. A value type shared by
// the gRPC edge (validation, resource names, logs) and the Leaf client
// (URLs), so neither layer asks the other about an id.
#ifndef SERVER_IDS_LEAF_USER_ID_H_
#define SERVER_IDS_LEAF_USER_ID_H_

#include <string>

#include "absl/strings/string_view.h"

namespace leafsvc {

// True for 8-4-4-4-12 hexadecimal digits (either case). The UUID version
// nibble is not checked: real Leaf ids exist with version 0.
bool IsLeafUserId(absl::string_view id);

// The one spelling of a Leaf user id, used by every RPC for what it sends to
// Leaf and what it returns (names, leaf_user_id, ErrorInfo, logs, page-token
// binding): lower case, so "3FA8..." and "3fa8..." are one user (Leaf and
// its emulator compare ids as strings).
std::string CanonicalLeafUserId(absl::string_view leaf_user_id);

}  // namespace leafsvc

#endif  // SERVER_IDS_LEAF_USER_ID_H_
