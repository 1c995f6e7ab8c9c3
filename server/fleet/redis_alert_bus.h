// The alert bus shared by the replicas (issue 21, item 4): an alert
// published on any replica is appended to a Redis Stream (XADD ... MAXLEN ~)
// and every replica's bus reads that stream (XREAD BLOCK) and hands each
// entry to its subscribers. A stream, not pub/sub: entries stay in Redis (up
// to MAXLEN), so a reader that lost its connection resumes from the last id
// it delivered and misses nothing that was appended meanwhile.
//
// What it promises:
// - Publish never blocks: XADD goes through the asynchronous client. When
//   XADD fails (Redis down, slow or refusing), the alert is delivered to this
//   replica's subscribers at once (on_fallback counts it); the others miss it
//   and fall back on their polls.
// - An alert published here reaches this replica's subscribers exactly once:
//   through the stream when XADD succeeded, locally when it failed. A failed
//   XADD that Redis carried out all the same (a timeout on a paused Redis) is
//   recognised by its origin fields and not delivered a second time.
// - One reader per bus, on a thread of its own: subscribers are called on it,
//   one alert at a time, in stream order (local fallbacks in between). A
//   handler must be quick, as with LocalAlertBus.
// - The reader starts after the stream's last entry (no history), retries
//   with backoff (50 ms doubling to 1 s) while Redis is unreachable, and
//   after a failure checks the stream before resuming: if it was reset (Redis
//   restarted with no persistence: the stream is gone or its ids went back),
//   it reads the new stream from its start, otherwise from the last id seen.
// - Bounded: fields are cut to kMaxFieldBytes (values come from the network);
//   an entry without credential_id is skipped (on_malformed counts it);
//   fallback deliveries waiting for the reader are capped.
//
// XREAD BLOCK holds its connection for up to `block`, and Redis runs nothing
// else sent on that connection meanwhile: the reader therefore needs a client
// of its own (`reader`), distinct from the one XADD and the rest of the
// replica use (`writer`).
#ifndef SERVER_FLEET_REDIS_ALERT_BUS_H_
#define SERVER_FLEET_REDIS_ALERT_BUS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/fleet/redis_client.h"
#include "server/watch/alert_bus.h"

namespace leafsvc::fleet {

inline constexpr std::size_t kMaxFieldBytes = 256;

struct RedisAlertBusOptions {
  RedisClient* writer = nullptr;  // XADD; may be shared; outlives the bus
  RedisClient* reader = nullptr;  // XREAD BLOCK only; outlives the bus
  std::string stream_key = "agleader:alerts";
  std::int64_t max_len = 10000;  // XADD MAXLEN ~
  // XREAD BLOCK time; the command's deadline is block + 500 ms.
  absl::Duration block = absl::Seconds(1);
  std::string replica_id;  // for logs only
  // Called on the writer's thread for each alert delivered locally because
  // XADD failed, under the bus's lock (so never after the destructor): must
  // be quick (a counter) and must not call the bus.
  std::function<void()> on_fallback;
  // Called on the reader's thread for each stream entry skipped as malformed.
  std::function<void()> on_malformed;
};

class RedisAlertBus final : public watch::AlertBus {
 public:
  // INVALID_ARGUMENT without a writer or a reader, with one client for both,
  // an empty key, max_len < 1 or block < 1 ms. Starts the reader thread.
  static absl::StatusOr<std::unique_ptr<RedisAlertBus>> Create(RedisAlertBusOptions options);

  // Stops the reader and waits for a handler call in progress; no handler
  // runs after it returns. Publish must not race with it.
  ~RedisAlertBus() override;

  void Publish(watch::CredentialAlert alert) override;
  SubscriptionId Subscribe(Handler handler) override;
  void Unsubscribe(SubscriptionId id) override;

  // Optional: the owner calls it from the reader client's on_state(true)
  // (the client takes one on_state, set at its creation) so that the reader
  // resumes at once instead of at its next retry (at most 1 s later).
  void OnRedisUp();

  // For tests and metrics. read_commands: XREAD and XREVRANGE sent.
  std::uint64_t read_commands() const;
  std::uint64_t fallbacks() const;
  std::uint64_t malformed() const;

  struct Shared;  // state the client's callbacks share with the bus

 private:
  explicit RedisAlertBus(RedisAlertBusOptions options);
  void Run();  // the reader thread
  void Dispatch(const watch::CredentialAlert& alert);

  const RedisAlertBusOptions options_;
  std::shared_ptr<Shared> shared_;
  std::thread reader_thread_;

  absl::Mutex mu_;  // subscribers
  SubscriptionId next_id_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<SubscriptionId, std::shared_ptr<const Handler>> handlers_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<SubscriptionId, int> running_ ABSL_GUARDED_BY(mu_);
};

}  // namespace leafsvc::fleet

#endif  // SERVER_FLEET_REDIS_ALERT_BUS_H_
