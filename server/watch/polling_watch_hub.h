// The process's watch hub: composes the subscription table, one change
// detector per watched user, the poller (through PollControl: a user is read
// once however many streams watch it, and no more once its last watcher
// leaves) and the alert bus (an alert rings its user's poll). Deliveries are
// decided under one lock and sent after it is released (see WatchHub).
// Every change carries a resume token (its position in the log of changes,
// kept in a bounded ChangeHistory) so a stream that ended can resume; a
// user nobody watches any more lingers a while (not read) so a quick
// re-watch continues from the state last seen.
#ifndef SERVER_WATCH_POLLING_WATCH_HUB_H_
#define SERVER_WATCH_POLLING_WATCH_HUB_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/watch/alert_bus.h"
#include "server/watch/change_detector.h"
#include "server/watch/change_history.h"
#include "server/watch/change_position.h"
#include "server/watch/poller.h"
#include "server/watch/subscription_table.h"
#include "server/watch/watch_hub.h"

namespace leafsvc::watch {

// What a Leaf alert cost (PollingWatchHub::Prompt).
enum class PromptResult {
  kPrompted,           // a read of its user is coming because of it
  kCoalesced,          // nothing new: a prompted read is already pending or in
                       // flight, or the user is backing off after failed reads
  kUnknownCredential,  // no watched user holds that credential
};
// "prompted", "coalesced", "unknown_credential" (metric label values).
absl::string_view PromptResultName(PromptResult result);

// Told what the hub does (metrics). Called under the hub's lock except
// OnPoll and OnAlert: must return quickly and not call the hub.
class HubObserver {
 public:
  virtual ~HubObserver() = default;
  virtual void OnCounts(int streams, int users) = 0;
  virtual void OnChangeSent(ChangeKind kind) = 0;
  virtual void OnPoll(Observation::Kind result, Source source) = 0;
  virtual void OnAlert(PromptResult result) = 0;
};

struct HubOptions {
  WatchLimits limits;
  HubObserver* observer = nullptr;  // optional; must outlive the hub
  AlertBus* alerts = nullptr;       // optional; subscribed while the hub lives

  // Resumes (docs/watch.md, "Resuming a stream"):
  // - the log the tokens point into; empty: "p" + 16 random hex digits, so
  //   tokens of another process are unknown here. Printable ASCII, no '|'.
  std::string log_id;
  // - changes kept to tell again (--watch_resume_history), and the most
  //   users kept lingering once nobody watches them.
  size_t history = 10000;
  // - positions come from the fleet's change stream (OnLogged, observations
  //   carrying one), the hub does not number changes itself; resumes resync
  //   until SetHistoryFloor.
  bool fleet = false;
  // - how long a user nobody watches keeps its last state (not read).
  absl::Duration linger = absl::Minutes(10);
  std::function<absl::Time()> clock;  // default absl::Now (tests: a fake)
};

class PollingWatchHub final : public WatchHub {
 public:
  // `poller` must outlive the hub; wire its sink to OnResult.
  PollingWatchHub(PollControl* poller, HubOptions options);
  // Leaves the alert bus, then waits for deliveries and poller calls other
  // threads are making on its behalf.
  ~PollingWatchHub() override;

  absl::StatusOr<WatchId> Subscribe(const std::vector<std::string>& users, Watcher* watcher,
                                    const std::string& caller = "",
                                    const std::string& resume_token = "") override;
  void Unsubscribe(WatchId id) override;
  void Shutdown(const absl::Status& status) override;
  int streams() const override;
  int users() const override;

  // A read's outcome (the poller's sink). A shared observation (version !=
  // 0) no newer than the one last applied to its user is ignored; one with
  // a position has that position as its change's token.
  void OnResult(const std::string& user, const Observation& observation, Source source);
  // Fleet: an entry of the change stream, for any user. Kept in the history
  // (once per position) and applied to its user's state when newer than
  // the version last applied.
  void OnLogged(const LoggedObservation& entry);
  // Fleet: the history is complete from `floor` on (after the stream's
  // backfill, and after a gap): older tokens resync.
  void SetHistoryFloor(ChangePosition floor);
  Poller::Sink PollSink() {
    return [this](const std::string& user, const Observation& o, Source source) {
      OnResult(user, o, source);
    };
  }

  // A Leaf alert named `credential_id`: a doorbell for its user's poll
  // (coalesced, spaced and never ahead of a backoff: see Poller::PollNow).
  PromptResult Prompt(const std::string& credential_id);
  // The alert bus's handler: Prompt, counted and logged.
  void OnAlert(const CredentialAlert& alert);

 private:
  // A call to make to a watcher once the lock is released: Deliver, or OnEnd
  // with `end`. Pinned (pins_) from when it is decided until it returns.
  struct Delivery {
    WatchId id;
    Watcher* watcher;
    std::optional<absl::Status> end;
  };
  // A change of the poller's users, decided under mu_.
  struct PollOp {
    bool add;
    std::string user;
  };
  // What the hub knows of a user watched, or lingering.
  struct UserState {
    ChangeDetector detector;
    // The position from which the detector's state is continuous with the
    // log (nullopt: not known to be; resumes of the user resync).
    std::optional<ChangePosition> known_since;
    std::uint64_t version = 0;    // the shared version last applied
    std::uint64_t lingering = 0;  // nobody watches it: its entry in lingering_
    // Watchers owed their first change of the user (kInitial or kResync),
    // sent once its first read lands.
    std::vector<std::pair<WatchId, ChangeKind>> owed;
  };

  void Pin(WatchId id, Watcher* watcher, std::optional<absl::Status> end,
           std::vector<Delivery>& out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Enqueues `change` of `user` to watch `id` (counted); the caller pins.
  void Send(WatchId id, const std::string& user, const Change& change)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A new subscription's first changes: the changes since `resume_token`
  // told again, snapshots of the users known (or kResync), the others owed.
  // True if anything was enqueued.
  bool Greet(WatchId id, const std::vector<std::string>& users, const std::string& resume_token)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Applies `observation` to `user`'s state and hands the change it made
  // (and the first changes owed) to the user's watchers. `position`: the
  // log's, in fleet mode.
  void Apply(const std::string& user, UserState& state, const Observation& observation,
             Source source, absl::Time observed, std::optional<ChangePosition> position,
             std::vector<Delivery>& deliveries) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string Token(ChangePosition position) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Fleet: a user starting to be watched here takes the state of its
  // newest entry in the history, if any.
  void Seed(const std::string& user, UserState& state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Nobody watches `user` any more: keep its state a while, unread.
  void Linger(const std::string& user) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops the lingering states past options_.linger or beyond
  // options_.history of them.
  void PruneLingering() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Time Now() const { return options_.clock ? options_.clock() : absl::Now(); }
  // Makes the calls, then unpins each. Not under mu_.
  void Run(std::vector<Delivery>& deliveries) ABSL_LOCKS_EXCLUDED(mu_);
  // Drops `id` and queues the removal of the users nobody watches any more.
  void Detach(WatchId id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReportCounts() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Applies poll_ops_ to the poller in the order they were decided, outside
  // mu_ (a read may finish inline and report back). One thread at a time;
  // another finding it busy leaves its ops to it.
  void ApplyPollOps() ABSL_LOCKS_EXCLUDED(mu_);

  PollControl* const poller_;
  const HubOptions options_;
  AlertBus::SubscriptionId bus_subscription_ = 0;
  mutable absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  SubscriptionTable table_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<WatchId, Watcher*> watchers_ ABSL_GUARDED_BY(mu_);
  // Watch id -> how many of its users still owe it a first change (none:
  // absent). Its tokens are partial meanwhile.
  absl::flat_hash_map<WatchId, int> owed_users_ ABSL_GUARDED_BY(mu_);
  // A node map: a UserState is some 270 bytes, and a flat map's empty slots
  // (up to half its capacity) would each cost that much per watched user.
  absl::node_hash_map<std::string, UserState> states_ ABSL_GUARDED_BY(mu_);
  const std::string log_id_;
  // Tokens of changes not in the log (fleet mode, Redis out of reach): a
  // log nobody resumes from, so such a token resyncs.
  const std::string local_log_id_;
  ChangePosition last_ ABSL_GUARDED_BY(mu_);  // the newest position known
  ChangeHistory history_ ABSL_GUARDED_BY(mu_);
  // Lingering users in the order they were left (an entry whose seq is no
  // longer its user's UserState::lingering is stale).
  struct Left {
    std::string user;
    std::uint64_t seq;
    absl::Time since;
  };
  std::deque<Left> lingering_ ABSL_GUARDED_BY(mu_);
  // How many states linger, and the last UserState::lingering given.
  size_t lingering_count_ ABSL_GUARDED_BY(mu_) = 0;
  std::uint64_t linger_seq_ ABSL_GUARDED_BY(mu_) = 0;
  // Watch id -> the threads with a call to that watcher decided and not yet
  // returned (one entry per call). Unsubscribe waits for those of other
  // threads.
  absl::flat_hash_map<WatchId, std::vector<std::thread::id>> pins_ ABSL_GUARDED_BY(mu_);
  // Pinned ids whose Unsubscribe ran: their pending calls are dropped.
  absl::flat_hash_set<WatchId> unsubscribed_ ABSL_GUARDED_BY(mu_);
  std::deque<PollOp> poll_ops_ ABSL_GUARDED_BY(mu_);
  bool applying_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace leafsvc::watch

#endif  // SERVER_WATCH_POLLING_WATCH_HUB_H_
