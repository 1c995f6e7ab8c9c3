// One Lua script run with EVALSHA, loaded (SCRIPT LOAD) on first use and
// again when Redis lost its script cache (NOSCRIPT after SCRIPT FLUSH, a
// restart or a failover): the fleet limiter's pattern, for the watch's
// scripts. Every call carries the client's command deadline.
//
// Thread-safe. Callbacks run on the client's loop thread. The script may be
// destroyed while calls are in flight (their callbacks still run); the
// client must outlive it.
#ifndef SERVER_FLEET_REDIS_SCRIPT_H_
#define SERVER_FLEET_REDIS_SCRIPT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "server/fleet/redis_client.h"

namespace leafsvc::fleet {

class RedisScript {
 public:
  // `what` names the script in errors ("the poll lease script").
  RedisScript(RedisClient* client, std::string source, std::string what);

  // Runs the script on `keys` and `args`. A Redis error reply (the script
  // failed) becomes INTERNAL; the client's errors pass through.
  void Eval(std::vector<std::string> keys, std::vector<std::string> args,
            RedisClient::Done done) const;

  // Times the script was (re)loaded.
  std::int64_t loads() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace leafsvc::fleet

#endif  // SERVER_FLEET_REDIS_SCRIPT_H_
