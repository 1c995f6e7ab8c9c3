// Identical reads in flight at the same time share one request to Leaf
// (GetCredentials of one user by two callers, a poll and a caller, the same
// page of events): a read asked while an identical one is in flight waits
// for that one's answer instead of sending its own.
//
// The rules that keep sharing invisible to callers:
// - a write to a scope (the user: Create, Delete) starts a new generation:
//   a read asked after WriteStarted never joins a read asked before it, so
//   it never gets an answer from before the write;
// - a read joins only a read of the same or a higher priority, or one the
//   budget already let go (never a queued poll, which could wait long
//   behind callers for the budget), whose deadline is no later than its own
//   (so it never waits past its own);
// - one waiter's cancel never cancels the shared request while others
//   wait; the request is cancelled when its last waiter leaves;
// - a shared request that ran out of its own time, or that the request
//   budget refused for its deadline, is asked again for the waiters whose
//   deadlines are later;
// - nothing is kept after the answer: no cache.
#ifndef SERVER_LEAF_READ_COALESCER_H_
#define SERVER_LEAF_READ_COALESCER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/http/http_client.h"
#include "server/leaf/leaf_call.h"

namespace leafsvc::leaf {

template <typename T>
class ReadCoalescer {
 public:
  using Done = std::function<void(absl::StatusOr<T>)>;
  // Sends the read, to end by `deadline`, filling in `stats` before `done`
  // runs (exactly once), and calling `granted` when the request budget lets
  // it go (it no longer waits behind anyone).
  using StartRead = std::function<std::shared_ptr<Cancellable>(
      absl::Time deadline, CallStats* stats, std::function<void()> granted, Done done)>;

  // `on_coalesced` is told each read that joined another (metrics);
  // `cancelled` is what a waiter that cancels hears (default: CANCELLED).
  // Either may be empty.
  explicit ReadCoalescer(std::function<void()> on_coalesced = nullptr,
                         std::function<absl::Status()> cancelled = nullptr)
      : on_coalesced_(std::move(on_coalesced)), cancelled_(std::move(cancelled)) {}

  // Reads `key` (which includes `scope`), sharing a read in flight when the
  // rules allow. `priority`: 0 first. `done` runs exactly once; `stats`
  // (may be null) gets the shared request's before it does.
  std::shared_ptr<Cancellable> Read(const std::string& scope, const std::string& key, int priority,
                                    absl::Time deadline, CallStats* stats, StartRead start,
                                    Done done) {
    std::shared_ptr<Flight> flight;
    std::uint64_t waiter;
    bool joined = false;
    {
      absl::MutexLock lock(&mu_);
      auto it = flights_.find(key);
      // A read of a lower class may still be queued for the budget, long;
      // once granted it waits for no one and anyone may join it.
      if (it != flights_.end() &&
          (it->second->priority <= priority || it->second->granted.load()) &&
          it->second->deadline <= deadline) {
        flight = it->second;
        joined = true;
      } else {
        flight = std::make_shared<Flight>();
        flight->key = key;
        flight->scope = scope;
        flight->priority = priority;
        flight->deadline = deadline;
        flight->start = start;
        flights_[key] = flight;
      }
      waiter = ++next_waiter_;
      flight->waiters.push_back({waiter, deadline, stats, std::move(done)});
    }
    if (joined) {
      if (on_coalesced_) on_coalesced_();
    } else {
      Launch(flight, deadline);
    }
    return std::make_shared<Handle>(this, flight, waiter);
  }

  // A write to `scope` starts: reads asked from now on share nothing with
  // reads asked before.
  void WriteStarted(const std::string& scope) {
    absl::MutexLock lock(&mu_);
    // Reads in flight go on for their waiters but can no longer be joined.
    // (Only reads in flight are kept, so this scan is short.)
    for (auto it = flights_.begin(); it != flights_.end();) {
      if (it->second->scope == scope) {
        flights_.erase(it++);
      } else {
        ++it;
      }
    }
  }

  // Reads in flight that can be joined.
  size_t flights() const {
    absl::MutexLock lock(&mu_);
    return flights_.size();
  }

 private:
  struct Waiter {
    std::uint64_t id;
    absl::Time deadline;
    CallStats* stats;
    Done done;
  };
  struct Flight {
    std::string key;
    std::string scope;
    int priority = 0;
    absl::Time deadline;
    StartRead start;
    CallStats stats;                    // written by the request, before it ends
    std::atomic<bool> granted{false};   // the budget let its request go
    std::vector<Waiter> waiters;        // guarded by the coalescer's mu_
    std::shared_ptr<Cancellable> call;  // guarded by mu_
    bool ended = false;                 // guarded by mu_
  };

  class Handle final : public Cancellable {
   public:
    Handle(ReadCoalescer* owner, std::shared_ptr<Flight> flight, std::uint64_t waiter)
        : owner_(owner), flight_(std::move(flight)), waiter_(waiter) {}
    void Cancel() override { owner_->Leave(flight_, waiter_); }

   private:
    ReadCoalescer* const owner_;
    const std::shared_ptr<Flight> flight_;
    const std::uint64_t waiter_;
  };

  void Launch(const std::shared_ptr<Flight>& flight, absl::Time deadline) {
    std::shared_ptr<Cancellable> call = flight->start(
        deadline, &flight->stats, [flight] { flight->granted.store(true); },
        [this, flight](absl::StatusOr<T> result) { End(flight, std::move(result)); });
    bool cancel_now = false;
    {
      absl::MutexLock lock(&mu_);
      if (!flight->ended) {
        flight->call = call;
        cancel_now = flight->waiters.empty();
      }
    }
    if (cancel_now && call) call->Cancel();
  }

  void End(const std::shared_ptr<Flight>& flight, absl::StatusOr<T> result) {
    std::vector<Waiter> waiters;
    std::shared_ptr<Flight> again;
    absl::Time again_deadline = absl::InfinitePast();
    {
      absl::MutexLock lock(&mu_);
      if (flight->ended) return;
      flight->ended = true;
      flight->call.reset();
      auto it = flights_.find(flight->key);
      if (it != flights_.end() && it->second == flight) flights_.erase(it);
      waiters.swap(flight->waiters);
      if (!result.ok() && (result.status().code() == absl::StatusCode::kDeadlineExceeded ||
                           result.status().GetPayload(http::kTooLatePayload).has_value())) {
        // The shared request's own time ran out, or it was refused a turn
        // to go before its deadline (the request budget); waiters with
        // later deadlines are asked for again, together.
        const absl::Time now = absl::Now();
        std::vector<Waiter> expired;
        for (Waiter& w : waiters) {
          if (w.deadline > now + absl::Milliseconds(1) && w.deadline > flight->deadline) {
            if (!again) {
              again = std::make_shared<Flight>();
              again->key = flight->key;
              again->scope = flight->scope;
              again->priority = flight->priority;
              again->start = flight->start;
            }
            again_deadline = std::max(again_deadline, w.deadline);
            again->waiters.push_back(std::move(w));
          } else {
            expired.push_back(std::move(w));
          }
        }
        waiters.swap(expired);
        if (again) {
          again->deadline = again_deadline;
          // Not findable: the waiters are settled; new reads start afresh.
        }
      }
    }
    if (again) Launch(again, again_deadline);
    for (size_t i = 0; i < waiters.size(); ++i) {
      if (waiters[i].stats != nullptr) *waiters[i].stats = flight->stats;
      waiters[i].done(i + 1 == waiters.size() ? std::move(result) : result);
    }
  }

  void Leave(const std::shared_ptr<Flight>& flight, std::uint64_t waiter) {
    Done done;
    std::shared_ptr<Cancellable> cancel;
    {
      absl::MutexLock lock(&mu_);
      if (flight->ended) return;
      auto& ws = flight->waiters;
      for (auto it = ws.begin(); it != ws.end(); ++it) {
        if (it->id == waiter) {
          done = std::move(it->done);
          ws.erase(it);
          break;
        }
      }
      if (!done) return;
      if (ws.empty()) {
        // The last waiter left: nobody needs the answer.
        auto it = flights_.find(flight->key);
        if (it != flights_.end() && it->second == flight) flights_.erase(it);
        cancel = flight->call;
      }
    }
    if (cancel) cancel->Cancel();
    done(cancelled_ ? cancelled_() : absl::CancelledError("the read was cancelled"));
  }

  const std::function<void()> on_coalesced_;
  const std::function<absl::Status()> cancelled_;
  mutable absl::Mutex mu_;
  std::uint64_t next_waiter_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, std::shared_ptr<Flight>> flights_ ABSL_GUARDED_BY(mu_);
};

}  // namespace leafsvc::leaf

#endif  // SERVER_LEAF_READ_COALESCER_H_
