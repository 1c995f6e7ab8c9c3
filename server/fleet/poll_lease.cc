#include "server/fleet/poll_lease.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace leafsvc::fleet {
namespace {

// KEYS: 1 lease, 2 fence. ARGV: 1 replica id, 2 ttl ms, 3 fence ttl ms,
// 4 the alive keys' prefix ("" : liveness off), 5 the alive key's ttl ms.
// The holder's alive key is derived from its id (same hash tag, so the
// same slot). A grant also marks the grantee alive: a replica holds no
// lease without its alive key, even when its first heartbeat was lost
// (sent before its connection was up), so a live holder's users are never
// taken over for want of a beat.
constexpr char kAcquire[] = R"lua(
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then
  -- Held by a live replica (or liveness is off): not ours.
  if ARGV[4] == '' or redis.call('EXISTS', ARGV[4] .. owner) == 1 then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if ARGV[4] ~= '' then redis.call('SET', ARGV[4] .. ARGV[1], '1', 'PX', ARGV[5]) end
local fence = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return fence
)lua";

// KEYS: 1 lease. ARGV: 1 replica id.
constexpr char kRelease[] = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
)lua";

// The fence outlives any lease by far: a fence that expired and started
// over at 1 would let a stale holder's write through. A day without any
// grant means nobody polls the user.
constexpr absl::Duration kFenceTtl = absl::Hours(24);

absl::Status Validate(const std::string& name, const std::string& replica) {
  if (name.empty() || absl::StrContains(name, "{") || absl::StrContains(name, "}")) {
    return absl::InvalidArgumentError("poll lease: fleet name must be non-empty, without braces");
  }
  if (replica.empty()) return absl::InvalidArgumentError("poll lease: replica id is empty");
  return absl::OkStatus();
}

}  // namespace

std::string WatchKeyPrefix(absl::string_view fleet_name) {
  return absl::StrCat("agleader:watch:{", fleet_name, "}:");
}

PollLease::PollLease(RedisClient* client, std::string fleet_name, std::string replica_id)
    : client_(client),
      prefix_(WatchKeyPrefix(fleet_name)),
      replica_id_(std::move(replica_id)),
      valid_(Validate(fleet_name, replica_id_)),
      acquire_(client, kAcquire, "the poll lease script"),
      release_(client, kRelease, "the poll lease release script") {}

absl::Status PollLease::Check(const std::string& user) const {
  if (!valid_.ok()) return valid_;
  if (user.empty()) return absl::InvalidArgumentError("poll lease: empty user");
  return absl::OkStatus();
}

void PollLease::Acquire(const std::string& user, absl::Duration ttl, AcquireDone done) {
  if (absl::Status s = Check(user); !s.ok()) return done(s);
  if (ttl < absl::Milliseconds(1)) {
    return done(absl::InvalidArgumentError("poll lease: ttl must be at least 1 ms"));
  }
  const std::int64_t alive_ms = alive_ttl_ms_.load();
  acquire_.Eval({prefix_ + "lease:" + user, prefix_ + "fence:" + user},
                {replica_id_, absl::StrCat(absl::ToInt64Milliseconds(ttl)),
                 absl::StrCat(absl::ToInt64Milliseconds(kFenceTtl)),
                 alive_ms > 0 ? prefix_ + "alive:" : std::string(), absl::StrCat(alive_ms)},
                [done = std::move(done)](absl::StatusOr<RedisReply> r) {
                  if (!r.ok()) return done(r.status());
                  if (r->type != RedisReply::Type::kInteger || r->integer < 0) {
                    return done(absl::InternalError(
                        absl::StrCat("poll lease: unexpected reply ", r->DebugString())));
                  }
                  done(static_cast<std::uint64_t>(r->integer));
                });
}

void PollLease::Release(const std::string& user, ReleaseDone done) {
  if (absl::Status s = Check(user); !s.ok()) {
    if (done) done(s);
    return;
  }
  release_.Eval({prefix_ + "lease:" + user}, {replica_id_},
                [done = std::move(done)](absl::StatusOr<RedisReply> r) {
                  if (!done) return;
                  if (!r.ok()) return done(r.status());
                  if (r->type != RedisReply::Type::kInteger) {
                    return done(absl::InternalError(
                        absl::StrCat("poll lease: unexpected reply ", r->DebugString())));
                  }
                  done(r->integer == 1);
                });
}

void PollLease::Heartbeat(absl::Duration ttl) {
  if (!valid_.ok() || ttl < absl::Milliseconds(1)) return;
  alive_ttl_ms_.store(absl::ToInt64Milliseconds(ttl));
  client_->Command({"SET", prefix_ + "alive:" + replica_id_, "1", "PX",
                    absl::StrCat(absl::ToInt64Milliseconds(ttl))},
                   [](absl::StatusOr<RedisReply>) {});
}

const char* PollLease::AcquireScript() { return kAcquire; }
const char* PollLease::ReleaseScript() { return kRelease; }

}  // namespace leafsvc::fleet
