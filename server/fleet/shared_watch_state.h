// The fleet's shared state of each watched user, in Redis (issue 21, item
// 3): the last observation the lease holder published, with a per-user
// version, and the change stream every replica tails.
//
// Keys (hash tag as the budget's): `agleader:watch:{<fleet>}:state:<user>`
// (a hash: v, fp, obs, ks, pos; 24 h TTL, refreshed by every publish),
// `...:fence:<user>` (poll_lease.h) and the stream `...:changes`.
//
// Publish runs one script: a fence older than the user's latest lease grant
// is refused (stale: nothing written); an observation with the stored
// fingerprint (observation_codec.h) refreshes the TTL and changes nothing;
// any other is a change: a new version, the record replaced and one entry
// XADDed to the stream (MAXLEN ~ history) with the fields user, version,
// prev (the old record's JSON, empty for a first record), prev_version, obs
// (the new record's JSON), source, time (ms), known_since (absent on a first
// record: the entry itself). A change is emitted only on that compare-and-
// set, so a doubled lease may cost a duplicate Leaf read, never a
// duplicated change.
//
// Versions are max(previous + 1, Redis's clock in µs): they keep growing
// for each user even after the record expired or Redis restarted empty, so
// a replica that applied an old version never ignores a newer state.
//
// No secret reaches Redis: records are EncodeObservation's JSON (secrets as
// hints). Thread-safe; callbacks run on the client's loop thread. The client
// must outlive this.
#ifndef SERVER_FLEET_SHARED_WATCH_STATE_H_
#define SERVER_FLEET_SHARED_WATCH_STATE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/fleet/redis_client.h"
#include "server/fleet/redis_script.h"
#include "server/providers/provider_spec.h"
#include "server/watch/change.h"

namespace leafsvc::fleet {

struct SharedWatchStateOptions {
  std::string fleet_name = "leaf";
  // The change stream keeps about this many entries (MAXLEN ~).
  std::int64_t history = 10000;
  absl::Duration record_ttl = absl::Hours(24);
  // What decoded credentials point at (null: the edge assumes AgLeader).
  const providers::ProviderSpec* provider = nullptr;
};

class SharedWatchState {
 public:
  struct Published {
    std::uint64_t version = 0;  // the stored version after this publish
    // The stream entry of the stored state (this publish's on a change).
    std::optional<watch::ChangePosition> position;
    std::optional<watch::ChangePosition> known_since;
    // A newer lease was granted since `fence`: nothing was written.
    bool stale = false;
    // This publish added a stream entry.
    bool changed = false;
  };
  using PublishDone = std::function<void(absl::StatusOr<Published>)>;
  using GetDone = std::function<void(absl::StatusOr<std::optional<watch::Observation>>)>;

  // INVALID_ARGUMENT on bad options (a name with braces, history < 1,
  // record_ttl < 1 s).
  static absl::StatusOr<std::unique_ptr<SharedWatchState>> Create(RedisClient* client,
                                                                  SharedWatchStateOptions options);

  // Records `observation` of `user` (read under lease grant `fence`). A
  // kNotRead observation is refused with INVALID_ARGUMENT (nothing was
  // learnt).
  void Publish(const std::string& user, std::uint64_t fence, const watch::Observation& observation,
               watch::Source source, absl::Time observed, PublishDone done);
  // The stored state of `user` (version, position and known_since set), or
  // nullopt when there is none.
  void Get(const std::string& user, GetDone done);

  // The change stream's key, for its reader.
  const std::string& stream_key() const { return stream_key_; }
  const SharedWatchStateOptions& options() const { return options_; }
  static const char* PublishScript();

 private:
  SharedWatchState(RedisClient* client, SharedWatchStateOptions options);

  RedisClient* const client_;
  const SharedWatchStateOptions options_;
  const std::string prefix_;
  const std::string stream_key_;
  RedisScript publish_;
};

// One entry of the change stream, as XRANGE/XREAD return it, back as a
// LoggedObservation (INVALID_ARGUMENT for an entry that is not one).
absl::StatusOr<watch::LoggedObservation> ParseEntry(
    absl::string_view id, const std::vector<std::pair<std::string, std::string>>& fields,
    const providers::ProviderSpec* provider = nullptr);
// The same from the reply element itself: [id, [field, value, ...]].
absl::StatusOr<watch::LoggedObservation> ParseEntry(
    const RedisReply& entry, const providers::ProviderSpec* provider = nullptr);

}  // namespace leafsvc::fleet

#endif  // SERVER_FLEET_SHARED_WATCH_STATE_H_
