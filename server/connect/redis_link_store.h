// Links and attempts in Redis, for a fleet: AgFiniti's callback may reach
// any replica. Keys (one hash tag per fleet, so one slot):
//   agleader:connect:{<fleet>}:link:<id>        a hash, expiring at
//                                               expire_time + kLinkRetention
//   agleader:connect:{<fleet>}:attempt:<sha256> a hash, expiring at the
//                                               attempt's expire_time
// Writes that must be atomic (create only if new, update unless CONNECTED,
// take = read and delete) are Lua scripts. Every command carries the
// client's command timeout; a failure of the client (down, timed out,
// saturated) is UNAVAILABLE, so no operation waits on a lost Redis.
// Only hashes of states and bindings are stored; the PKCE verifier is
// stored as is (the token endpoint needs it back) for at most the attempt's
// 15 minutes, like the state itself is worthless without the code.
#ifndef SERVER_CONNECT_REDIS_LINK_STORE_H_
#define SERVER_CONNECT_REDIS_LINK_STORE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/connect/link_store.h"
#include "server/fleet/redis_client.h"
#include "server/fleet/redis_script.h"

namespace leafsvc::connect {

// "agleader:connect:{<fleet>}:".
std::string ConnectKeyPrefix(absl::string_view fleet_name);

class RedisLinkStore final : public LinkStore {
 public:
  // `client` must outlive the store and every call in flight. `fleet_name`
  // must be non-empty without braces (it is the keys' hash tag); otherwise
  // every operation fails with INVALID_ARGUMENT.
  RedisLinkStore(fleet::RedisClient* client, std::string fleet_name);

  void CreateLink(const ConnectLink& link, StatusDone done) override;
  void GetLink(const std::string& id, LinkDone done) override;
  void UpdateLink(const std::string& id, const LinkUpdate& update, LinkDone done) override;
  void PutAttempt(const Attempt& attempt, StatusDone done) override;
  void TakeAttempt(const std::string& state_hash, AttemptDone done) override;

 private:
  std::string LinkKey(const std::string& id) const { return prefix_ + "link:" + id; }
  std::string AttemptKey(const std::string& hash) const { return prefix_ + "attempt:" + hash; }

  fleet::RedisClient* const client_;
  const std::string prefix_;
  const absl::Status valid_;
  const fleet::RedisScript create_;
  const fleet::RedisScript update_;
  const fleet::RedisScript put_attempt_;
  const fleet::RedisScript take_attempt_;
};

}  // namespace leafsvc::connect

#endif  // SERVER_CONNECT_REDIS_LINK_STORE_H_
