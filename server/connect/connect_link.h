// A connect link (CreateConnectLink): what the service keeps of one link and
// of the grower's progress through AgFiniti's consent flow. Plain data, no
// secrets: the OAuth state, the PKCE verifier, the code and the tokens live
// in an attempt (link_store.h) or only on the stack of the flow.
#ifndef SERVER_CONNECT_CONNECT_LINK_H_
#define SERVER_CONNECT_CONNECT_LINK_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace leafsvc::connect {

// ConnectLink.State of the public API, same order and values.
enum class LinkState { kPending = 1, kConnected = 2, kDenied = 3, kFailed = 4, kExpired = 5 };

// "PENDING", "CONNECTED", ... (the public enum's names).
absl::string_view LinkStateName(LinkState state);

struct ConnectLink {
  std::string id;            // unguessable, URL-safe; the name is "connectLinks/" + id
  std::string leaf_user_id;  // canonical (lower case)
  std::string return_url;    // empty: none
  LinkState state = LinkState::kPending;
  absl::Time create_time = absl::UnixEpoch();
  absl::Time expire_time = absl::UnixEpoch();
  absl::Time update_time = absl::UnixEpoch();
  // DENIED and FAILED: a reason of server/errors/reasons.h and a message a
  // person can act on (never a code, a token or a key).
  std::string error_reason;
  std::string error_message;
  // CONNECTED: Leaf's id of the credentials attached.
  std::string credentials_id;

  // The state as seen at `now`: PENDING, DENIED and FAILED links past
  // expire_time are EXPIRED; CONNECTED stays CONNECTED.
  LinkState StateAt(absl::Time now) const;
};

}  // namespace leafsvc::connect

#endif  // SERVER_CONNECT_CONNECT_LINK_H_
