// One REST exchange with Leaf as an explicit state machine: obtain a token,
// send; on a 401 renew the token and send once more; on a retryable failure
// back off and send again. Everything that can happen to it (a token arrives,
// a response or transport error arrives, a timer fires, the caller cancels,
// the server shuts down) is an event handed to Decide(), the one function
// that chooses the next state under the lock. Whatever it chooses that
// touches the outside world (send, cancel a transfer, arm a timer, finish) is
// done after the lock is released. Once kDone is reached every further event
// is ignored, so the completion runs exactly once whatever the interleaving.
#ifndef SERVER_LEAF_LEAF_EXCHANGE_H_
#define SERVER_LEAF_LEAF_EXCHANGE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/http/http_client.h"
#include "server/leaf/leaf_call.h"
#include "server/leaf/leaf_errors.h"
#include "server/leaf/token_source.h"
#include "server/platform/scheduler.h"

namespace leafsvc::leaf {

class Exchange final : public Cancellable, public std::enable_shared_from_this<Exchange> {
 public:
  using ResponseCallback = std::function<void(absl::StatusOr<http::HttpResponse>)>;

  enum class State {
    kIdle,           // constructed, not started
    kAwaitingToken,  // asked the token source (or waiting out a token deadline)
    kSending,        // an HTTP attempt is with the transport
    kBackingOff,     // a retry timer is armed
    kDone,           // the completion has run (or is running); nothing more happens
  };

  // What the exchange needs from its client; everything outlives it.
  struct Context {
    http::HttpClient* http = nullptr;
    TokenSource* tokens = nullptr;
    Scheduler* scheduler = nullptr;  // null: no retries and no token deadline
    const LeafClientOptions* options = nullptr;
    std::function<double()> random;
    std::string api_url;   // names Leaf in transport error messages
    std::string provider;  // the provider's display name, for error messages
  };

  Exchange(Context context, LeafOperation op, http::HttpRequest request,
           std::optional<Secret> caller_token, std::vector<std::string> secrets, CallStats* stats,
           ResponseCallback on_response);

  // Called once, just before the completion runs, on the same thread.
  void set_on_finished(std::function<void()> f) { on_finished_ = std::move(f); }

  void Start();
  // Cancellable: the completion runs with CANCELLED at once unless it already ran.
  void Cancel() override;
  // Ends the exchange with `status` (e.g. UNAVAILABLE SHUTTING_DOWN) unless it
  // already ended; the request-may-have-reached-Leaf metadata is added when an
  // attempt was out.
  void Abort(const absl::Status& status);

  State state() const;

 private:
  struct Event;
  struct Plan;

  // The one decision point; runs under mu_.
  Plan Decide(Event event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Plan DecideResponse(absl::StatusOr<http::HttpResponse> response, const Secret& token)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Plan DecideAfterError(absl::Status error, bool retryable,
                        std::optional<absl::Duration> retry_after)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Plan RequestTokenPlan() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Plan FinishPlan(absl::StatusOr<http::HttpResponse> result) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  void Dispatch(Event event);
  void Run(Plan plan);
  void SendAttempt(std::uint64_t epoch, Secret token);
  void AskForToken(std::uint64_t epoch);
  void Complete(absl::StatusOr<http::HttpResponse> result, int attempts, int last_http_status,
                std::vector<std::string> secrets);

  const Context ctx_;
  const LeafOperation op_;
  const bool idempotent_;
  const http::HttpRequest request_;
  const std::optional<Secret> caller_token_;
  CallStats* const stats_;
  ResponseCallback on_response_;
  std::function<void()> on_finished_;

  mutable absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kIdle;
  // Advances on every step; callbacks carry the epoch they were started in,
  // and an event from a step that is over is ignored.
  std::uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 0;
  int attempts_ ABSL_GUARDED_BY(mu_) = 0;
  int last_http_status_ ABSL_GUARDED_BY(mu_) = 0;
  bool reauthenticated_ ABSL_GUARDED_BY(mu_) = false;
  bool maybe_applied_ ABSL_GUARDED_BY(mu_) = false;
  // The next attempt opens a new connection (after a pooled one went silent).
  bool fresh_connection_next_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time sent_at_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> last_error_ ABSL_GUARDED_BY(mu_);
  std::optional<http::TransferId> transfer_ ABSL_GUARDED_BY(mu_);
  std::optional<Scheduler::TaskId> timer_ ABSL_GUARDED_BY(mu_);
  // Values never to show in an error: what the call sent, tokens used.
  std::vector<std::string> secrets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace leafsvc::leaf

#endif  // SERVER_LEAF_LEAF_EXCHANGE_H_
