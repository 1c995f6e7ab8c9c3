// The process's watch hub: composes the subscription table, one change
// detector per watched user, the poller (through PollControl: a user is read
// once however many streams watch it, and no more once its last watcher
// leaves) and the alert bus (an alert rings its user's poll). Deliveries are
// decided under one lock and sent after it is released (see WatchHub).
#ifndef SERVER_WATCH_POLLING_WATCH_HUB_H_
#define SERVER_WATCH_POLLING_WATCH_HUB_H_

#include <deque>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/watch/alert_bus.h"
#include "server/watch/change_detector.h"
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
};

class PollingWatchHub final : public WatchHub {
 public:
  // `poller` must outlive the hub; wire its sink to OnResult.
  PollingWatchHub(PollControl* poller, HubOptions options);
  // Leaves the alert bus, then waits for deliveries and poller calls other
  // threads are making on its behalf.
  ~PollingWatchHub() override;

  absl::StatusOr<WatchId> Subscribe(const std::vector<std::string>& users, Watcher* watcher,
                                    const std::string& caller = "") override;
  void Unsubscribe(WatchId id) override;
  void Shutdown(const absl::Status& status) override;
  int streams() const override;
  int users() const override;

  // A read's outcome (the poller's sink).
  void OnResult(const std::string& user, const Observation& observation, Source source);
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

  void Pin(WatchId id, Watcher* watcher, std::optional<absl::Status> end,
           std::vector<Delivery>& out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
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
  absl::flat_hash_map<std::string, ChangeDetector> detectors_ ABSL_GUARDED_BY(mu_);
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
