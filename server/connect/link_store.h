// Where connect links and their attempts live: in memory for one process
// (memory_link_store.h), in Redis for a fleet (redis_link_store.h), so that
// AgFiniti's callback completes on any replica. Asynchronous because Redis
// is: each `done` runs exactly once, on any thread, possibly before the call
// returns. Errors are plain absl statuses (no reasons): the flow turns them
// into what the grower and the caller see.
#ifndef SERVER_CONNECT_LINK_STORE_H_
#define SERVER_CONNECT_LINK_STORE_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/connect/connect_link.h"
#include "server/secrets/secret.h"

namespace leafsvc::connect {

// How long a link is kept after its expire_time, so that GetConnectLink can
// still say EXPIRED (not NOT_FOUND) for a while.
inline constexpr absl::Duration kLinkRetention = absl::Hours(24);

// One consent attempt: what the callback must match. The raw state and
// binding are never stored, only their hashes (oauth_state.h).
struct Attempt {
  std::string state_hash;  // the key
  std::string link_id;
  std::string binding_hash;  // of the browser binding cookie
  Secret pkce_verifier;      // empty without PKCE
  absl::Time expire_time = absl::UnixEpoch();
};

// What a state transition changes; the rest of a link never changes.
struct LinkUpdate {
  LinkState state = LinkState::kPending;
  absl::Time update_time = absl::UnixEpoch();
  std::string error_reason;
  std::string error_message;
  std::string credentials_id;
};

class LinkStore {
 public:
  using LinkDone = std::function<void(absl::StatusOr<ConnectLink>)>;
  using AttemptDone = std::function<void(absl::StatusOr<Attempt>)>;
  using StatusDone = std::function<void(absl::Status)>;

  virtual ~LinkStore() = default;

  // Stores a new link, kept until expire_time + kLinkRetention.
  // ALREADY_EXISTS when the id is taken; RESOURCE_EXHAUSTED when full;
  // UNAVAILABLE when the store is.
  virtual void CreateLink(const ConnectLink& link, StatusDone done) = 0;
  // NOT_FOUND when unknown (or forgotten after retention).
  virtual void GetLink(const std::string& id, LinkDone done) = 0;
  // Applies `update` atomically unless the stored link is CONNECTED (a
  // connected link never changes again, so of two replicas completing the
  // same link only one connects it): answers the link as updated, or
  // FAILED_PRECONDITION when it was already CONNECTED, NOT_FOUND when
  // unknown.
  virtual void UpdateLink(const std::string& id, const LinkUpdate& update, LinkDone done) = 0;
  // Stores an attempt until its expire_time. ALREADY_EXISTS when the hash
  // is taken.
  virtual void PutAttempt(const Attempt& attempt, StatusDone done) = 0;
  // Removes and answers the attempt stored under `state_hash`, atomically:
  // of two callbacks with the same state, one gets it, the other NOT_FOUND
  // (also for unknown and expired ones).
  virtual void TakeAttempt(const std::string& state_hash, AttemptDone done) = 0;
};

}  // namespace leafsvc::connect

#endif  // SERVER_CONNECT_LINK_STORE_H_
