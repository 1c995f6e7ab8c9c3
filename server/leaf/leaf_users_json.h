// Leaf's users listing (GET /users?page=&size=): each element is a Leaf user
// with every provider's credentials embedded. Only the id and the embedded
// credentials of one provider (its spec's user_member) are kept; the rest of the user (name, email,
// other providers' credentials) is never read into memory as values.
#ifndef SERVER_LEAF_LEAF_USERS_JSON_H_
#define SERVER_LEAF_LEAF_USERS_JSON_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/leaf/leaf_types.h"
#include "server/providers/provider_spec.h"

namespace leafsvc::leaf {

// One element of GET /users.
struct LeafUser {
  std::string id;
  // Absent when the user has no credentials of the provider.
  std::optional<ProviderCredentials> credentials;
  // The provider's member was there and said "none" (null or an empty
  // array), as opposed to missing from the user altogether.
  bool credentials_null = false;
};

// A decoded page of GET /users, with Leaf's X-Total-Count when it sent one.
struct LeafUsersPage {
  std::vector<LeafUser> users;
  std::optional<long long> total_count;
};

// Decodes the body: a bare JSON array of users, or a {"content": [...]}
// wrapper (Spring's Page). A user's provider member (the spec's
// user_member) may be absent, null, an object, or an array of at most one
// object (an empty array means none); the object is decoded with DecodeCredentials' rules. A user
// without a string "id" is an error. Errors: INVALID_ARGUMENT naming the element, never quoting the
// body (it holds secrets).
absl::StatusOr<std::vector<LeafUser>> DecodeUsers(absl::string_view json,
                                                  const providers::ProviderSpec& provider);

// The X-Total-Count header: a non-negative decimal integer, else nullopt.
std::optional<long long> ParseTotalCount(absl::string_view value);

}  // namespace leafsvc::leaf

#endif  // SERVER_LEAF_LEAF_USERS_JSON_H_
