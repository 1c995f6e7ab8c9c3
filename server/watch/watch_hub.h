// What the gRPC edge asks of the watch machinery: subscribe a stream's end
// (a Watcher) to users, unsubscribe it, end every watch. The hub decides
// under its lock what each watcher gets and hands it over in two steps, so
// that no watcher code that may call gRPC runs under that lock:
//   1. Enqueue, under the hub's lock, in the order changes were decided: the
//      watcher takes the change into its own queue and returns (it must not
//      call out or block);
//   2. Deliver, after the lock is released: the watcher sends what it
//      queued (it may call gRPC, and the hub).
#ifndef SERVER_WATCH_WATCH_HUB_H_
#define SERVER_WATCH_WATCH_HUB_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/watch/change.h"
#include "server/watch/subscription_table.h"

namespace leafsvc::watch {

// One stream's end of a watch.
class Watcher {
 public:
  virtual ~Watcher() = default;
  // Under the hub's lock: queue `change` of `user` and return. Must not
  // call the hub, gRPC or anything that may wait; a short lock of its own
  // is fine.
  virtual void Enqueue(const std::string& user, const Change& change) = 0;
  // Outside the hub's lock, after one or more Enqueue: send what is queued.
  // May run on several threads at once, and may call the hub.
  virtual void Deliver() = 0;
  // Outside the hub's lock: the hub let go of this watcher (shutdown); no
  // Enqueue follows (a Deliver already under way on another thread may
  // still finish).
  virtual void OnEnd(const absl::Status& status) = 0;
};

class WatchHub {
 public:
  virtual ~WatchHub() = default;

  // Registers `watcher` for `users` (distinct). Users already read are
  // reported to it at once (their last state); the others when their first
  // read finishes. UNAVAILABLE (SHUTTING_DOWN) after Shutdown,
  // RESOURCE_EXHAUSTED beyond the limits. `caller` names who asks (its API
  // key, else its address) for the per-caller limit.
  // `resume_token` (empty: a new watch) is the Change::resume_token of the
  // last change a stream that ended received: the changes since are told
  // again and the first snapshot of a user whose state is known to be
  // continuous since then is left out; when that cannot be told (unknown,
  // malformed or too old a token), each user's first change is kResync.
  virtual absl::StatusOr<WatchId> Subscribe(const std::vector<std::string>& users, Watcher* watcher,
                                            const std::string& caller = "",
                                            const std::string& resume_token = "") = 0;
  // Idempotent. When it returns, `watcher` is called no more: a call to it
  // in progress on another thread has returned, calls decided but not
  // started are dropped. (Called from inside one of the watcher's own calls,
  // it does not wait for that call.)
  virtual void Unsubscribe(WatchId id) = 0;
  // Ends every watch with `status` (each watcher's OnEnd) and refuses new
  // ones.
  virtual void Shutdown(const absl::Status& status) = 0;

  virtual int streams() const = 0;
  virtual int users() const = 0;
};

}  // namespace leafsvc::watch

#endif  // SERVER_WATCH_WATCH_HUB_H_
