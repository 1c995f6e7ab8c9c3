// App's fleet wiring (--redis_url; docs/fleet.md): the Redis clients, the
// shared budget, the alert bus, the shared polls and the change stream's
// reader. No behaviour of its own.
#include <cstdint>
#include <memory>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "server/app.h"
#include "server/observability/log.h"
#include "server/providers/agleader/agleader_spec.h"

namespace leafsvc {
namespace {

// How long a starting replica waits for the fleet's change history (resume
// tokens resync until it has it).
constexpr absl::Duration kChangeHistoryWait = absl::Seconds(3);

// Names this replica in the fleet's leases: random per process, so a
// restarted replica never mistakes its predecessor's lease for its own.
std::string RandomReplicaId() {
  absl::BitGen gen;
  return absl::StrFormat("r%016x", absl::Uniform<std::uint64_t>(gen));
}

}  // namespace

absl::Status App::StartFleet() {
  if (config_.redis_url.empty()) return absl::OkStatus();
  absl::StatusOr<fleet::RedisUrl> url = fleet::ParseRedisUrl(config_.redis_url.Reveal());
  if (!url.ok()) return url.status();  // checked with the flags already
  Metrics* metrics = metrics_.get();
  metrics->EnableFleet();
  metrics->FleetRedisUp(false);
  auto options_for = [&](const char* role) {
    fleet::RedisClientOptions o;
    o.host = url->host;
    o.port = url->port;
    o.db = url->db;
    o.password = config_.redis_password.empty() ? url->password : config_.redis_password;
    o.on_state = [metrics, role](bool up) {
      // Both connections report; the gauge follows the general one.
      if (absl::string_view(role) == "commands") metrics->FleetRedisUp(up);
      Log(up ? LogLevel::kInfo : LogLevel::kWarning,
          up ? "fleet: Redis reachable" : "fleet: Redis unreachable; this replica serves alone",
          {{"connection", role}});
    };
    return o;
  };
  absl::StatusOr<std::unique_ptr<fleet::RedisClient>> redis =
      fleet::RedisClient::Create(options_for("commands"));
  if (!redis.ok()) return redis.status();
  redis_ = *std::move(redis);
  absl::StatusOr<std::unique_ptr<fleet::RedisClient>> reader =
      fleet::RedisClient::Create(options_for("alert stream"));
  if (!reader.ok()) return reader.status();
  redis_alert_reader_ = *std::move(reader);
  reader = fleet::RedisClient::Create(options_for("change stream"));
  if (!reader.ok()) return reader.status();
  redis_change_reader_ = *std::move(reader);
  if (config_.leaf_budget.requests_per_minute > 0) {
    fleet::FleetLimiterOptions limiter;
    limiter.budget = config_.leaf_budget;
    absl::StatusOr<std::unique_ptr<fleet::FleetLimiter>> created =
        fleet::FleetLimiter::Create(std::move(limiter), redis_.get());
    if (!created.ok()) return created.status();
    fleet_limiter_ = *std::move(created);
  }
  return absl::OkStatus();
}

absl::StatusOr<watch::Poller::Fetch> App::FleetPolls(watch::Poller::Fetch fetch,
                                                     std::function<absl::Duration()> lease_ttl) {
  const providers::ProviderSpec* provider =
      config_.provider != nullptr ? config_.provider : &providers::AgLeaderSpec();
  poll_lease_ = std::make_unique<fleet::PollLease>(redis_.get(), "leaf", RandomReplicaId());
  heartbeat_ = std::make_unique<fleet::ReplicaHeartbeat>(scheduler_.get(), poll_lease_.get());
  heartbeat_->Start();
  fleet::SharedWatchStateOptions state;
  state.history = config_.watch_resume_history;
  state.provider = provider;
  absl::StatusOr<std::unique_ptr<fleet::SharedWatchState>> created =
      fleet::SharedWatchState::Create(redis_.get(), state);
  if (!created.ok()) return created.status();
  shared_watch_state_ = *std::move(created);
  fleet::FleetFetchOptions options;
  options.lease_ttl = std::move(lease_ttl);
  Metrics* metrics = metrics_.get();
  options.on_read = [metrics](absl::string_view from) { metrics->FleetPollRead(from); };
  fleet_fetch_ = std::make_unique<fleet::FleetFetch>(std::move(fetch), poll_lease_.get(),
                                                     shared_watch_state_.get(), options);
  return fleet_fetch_->AsFetch();
}

absl::Status App::StartChangeReader() {
  if (shared_watch_state_ == nullptr) return absl::OkStatus();
  const providers::ProviderSpec* provider = shared_watch_state_->options().provider;
  watch::PollingWatchHub* hub = watch_hub_.get();
  fleet::ChangeStreamReaderOptions options;
  options.stream_key = shared_watch_state_->stream_key();
  options.history = config_.watch_resume_history;
  options.replica_id = poll_lease_->replica_id();
  fleet::ChangeStreamReaderCallbacks callbacks;
  // On the reader's client thread: decoding and the hub's quick hand-off.
  callbacks.entry = [hub, provider](std::string id, fleet::ChangeStreamReaderCallbacks::Fields f) {
    absl::StatusOr<watch::LoggedObservation> entry = fleet::ParseEntry(id, f, provider);
    if (!entry.ok()) {
      Log(LogLevel::kWarning, "fleet: a change stream entry was not understood; skipped",
          {{"id", id}, {"error", entry.status().message()}});
      return;
    }
    hub->OnLogged(*entry);
  };
  // Resume tokens can be honoured once the history is known from some
  // point on: the replica waits a little for that before serving.
  auto ready = std::make_shared<absl::Notification>();
  callbacks.floor = [hub, ready](watch::ChangePosition floor) {
    hub->SetHistoryFloor(floor);
    if (!ready->HasBeenNotified()) ready->Notify();
  };
  absl::StatusOr<std::unique_ptr<fleet::ChangeStreamReader>> reader =
      fleet::ChangeStreamReader::Create(redis_change_reader_.get(), options, std::move(callbacks));
  if (!reader.ok()) return reader.status();
  change_reader_ = *std::move(reader);
  change_reader_->Start();
  if (!ready->WaitForNotificationWithTimeout(kChangeHistoryWait)) {
    Log(LogLevel::kWarning,
        "fleet: the change stream's history is not read yet (Redis unreachable?); resume tokens "
        "get RESYNC snapshots until it is");
  }
  return absl::OkStatus();
}

absl::Status App::StartAlertBus() {
  if (redis_ == nullptr) {
    alert_bus_ = std::make_unique<watch::LocalAlertBus>();
    return absl::OkStatus();
  }
  fleet::RedisAlertBusOptions bus;
  bus.writer = redis_.get();
  bus.reader = redis_alert_reader_.get();
  absl::StatusOr<std::unique_ptr<fleet::RedisAlertBus>> started =
      fleet::RedisAlertBus::Create(std::move(bus));
  if (!started.ok()) return started.status();
  alert_bus_ = *std::move(started);
  return absl::OkStatus();
}

}  // namespace leafsvc
