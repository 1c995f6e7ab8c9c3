// The load of the fleet scenario (issue 21, bench/fleet_bench.h):
// WatchCredentials streams of one user each, spread over the replicas so
// that every user is watched on several of them, and Leaf alerts about those
// users posted to ONE replica; it times each alert until the change reaches
// each stream of its user, grouped by the stream's replica.
#ifndef BENCH_FLEET_LOAD_H_
#define BENCH_FLEET_LOAD_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace bench {

// Stream i watches users[user] on replicas[replica].
struct StreamPlan {
  int user = 0;
  int replica = 0;
};

// Stream i watches user i % users, in round k = i / users, on replica
// (user + k) % replicas: each round spreads the users evenly, and a user's
// rounds land on distinct replicas (as many as there are rounds, up to
// `replicas`). Empty when any count is below 1.
std::vector<StreamPlan> PlanStreams(int streams, int users, int replicas);

struct FleetLoadOptions {
  std::vector<std::string> targets;  // each replica's gRPC host:port
  std::vector<std::string> users;    // the seeded Leaf user ids
  int streams = 300;
  // Alerts: the emulator (to change the status, as Leaf's processing would),
  // its static token, the replica's alert URL and the webhook secret.
  std::string emulator_url, emulator_token, alert_url, alert_secret;
};

// What the streams of one replica saw of the alerts.
struct ReplicaAlertFigures {
  int streams = 0;
  std::vector<std::int64_t> latencies_ns;         // alert POST to the change, per stream
  std::int64_t missed = 0;                        // an alerted user's stream never saw the change
  std::map<std::string, std::int64_t> by_source;  // the changes' CHANGE_SOURCE_*
};

struct FleetWatchFigures {
  std::int64_t initial = 0, changes = 0, errors = 0;
  std::map<std::string, int> ended;  // streams that ended before Stop, by code
};

class FleetLoad {
 public:
  explicit FleetLoad(FleetLoadOptions options);
  ~FleetLoad();  // Stop()
  FleetLoad(const FleetLoad&) = delete;
  FleetLoad& operator=(const FleetLoad&) = delete;

  // Opens every stream (asynchronously: no thread per stream).
  void Start();
  // Waits until every stream has had its INITIAL, up to `timeout`; false
  // when some had not by then.
  bool WaitForInitial(std::chrono::milliseconds timeout);
  // Changes the next user's status at the emulator, then posts Leaf's alert
  // about it to the alert URL. Returns an error text, empty when both went
  // through. Not concurrently with itself.
  std::string SendAlert();
  // Cancels the streams and waits until they are done. Idempotent.
  void Stop();

  // Valid after Stop(): one entry per replica, in `targets` order.
  const std::vector<ReplicaAlertFigures>& alerts() const;
  const FleetWatchFigures& watch() const;
  std::int64_t alerts_sent() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Leaf's alert about `credential_id` now being `status` (as its webhook
// posts it).
std::string AlertBody(const std::string& credential_id, const std::string& status);

}  // namespace bench

#endif  // BENCH_FLEET_LOAD_H_
