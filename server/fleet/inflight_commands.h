// The Redis client's commands sent and not yet answered, by id and by
// deadline. hiredis answers in order, but a command that timed out is taken
// out here and its reply, arriving later, finds nothing: replies reach
// their own command or nobody. Used on the client's loop thread only.
#ifndef SERVER_FLEET_INFLIGHT_COMMANDS_H_
#define SERVER_FLEET_INFLIGHT_COMMANDS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/fleet/redis_reply.h"

namespace leafsvc::fleet {

// One command, from Submit to its callback.
struct PendingCommand {
  using Done = std::function<void(absl::StatusOr<RedisReply>)>;
  std::uint64_t id = 0;
  std::string name;  // argv[0], for error messages (never the arguments)
  absl::Duration timeout;
  absl::Time deadline;
  Done done;
  // Non-OK: completed with this at once (validation, RESOURCE_EXHAUSTED).
  absl::Status preset;
  // Counted in the client's pending count (user commands past the limit).
  bool counted = false;
  bool internal = false;  // part of the connect handshake
  bool secret_args = false;
  std::vector<std::string> argv;  // until sent
};

class InflightCommands {
 public:
  void Add(PendingCommand p) {
    const std::uint64_t id = p.id;
    deadlines_.emplace(p.deadline, id);
    by_id_.emplace(id, std::move(p));
  }

  // The command `id` if it is still waiting for its reply.
  std::optional<PendingCommand> Take(std::uint64_t id) {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return std::nullopt;
    PendingCommand p = std::move(it->second);
    by_id_.erase(it);
    deadlines_.erase({p.deadline, id});
    return p;
  }

  // A command whose deadline is `now` or earlier, if any (call until none).
  std::optional<PendingCommand> TakeExpired(absl::Time now) {
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      const std::uint64_t id = deadlines_.begin()->second;
      deadlines_.erase(deadlines_.begin());
      auto it = by_id_.find(id);
      if (it == by_id_.end()) continue;
      PendingCommand p = std::move(it->second);
      by_id_.erase(it);
      return p;
    }
    return std::nullopt;
  }

  // Every command left, in no particular order.
  std::vector<PendingCommand> TakeAll() {
    std::vector<PendingCommand> all;
    all.reserve(by_id_.size());
    for (auto& [id, p] : by_id_) all.push_back(std::move(p));
    by_id_.clear();
    deadlines_.clear();
    return all;
  }

  bool empty() const { return by_id_.empty(); }
  // The earliest deadline (InfiniteFuture when none waits).
  absl::Time next_deadline() const {
    return deadlines_.empty() ? absl::InfiniteFuture() : deadlines_.begin()->first;
  }

 private:
  std::unordered_map<std::uint64_t, PendingCommand> by_id_;
  std::set<std::pair<absl::Time, std::uint64_t>> deadlines_;
};

}  // namespace leafsvc::fleet

#endif  // SERVER_FLEET_INFLIGHT_COMMANDS_H_
