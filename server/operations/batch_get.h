// BatchGetCredentials' fan-out: fetches the credentials of many users with at
// most `fan_out` Leaf calls in flight for this batch, so one batch never
// takes all of --max_upstream_in_flight nor all pooled connections from the
// calls around it. Distinct ids (CanonicalLeafUserId: compared
// case-insensitively) are fetched once each, in request order, as given. On
// Cancel() or once `deadline` has passed, no further user is started: those
// not reached get CANCELLED (reason BATCH_CANCELLED) or DEADLINE_EXCEEDED
// (reason BATCH_DEADLINE_EXCEEDED), calls in flight are cancelled (on
// Cancel) or end by their own deadline. When Leaf's request budget refused
// a user of the batch (LEAF_RATE_LIMITED), the users not reached by the
// deadline get that refusal instead, RetryInfo included: the budget is why
// they were not read.
#ifndef SERVER_OPERATIONS_BATCH_GET_H_
#define SERVER_OPERATIONS_BATCH_GET_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/leaf/leaf_call.h"
#include "server/leaf/leaf_types.h"

namespace leafsvc {

class BatchGet final : public leaf::Cancellable, public std::enable_shared_from_this<BatchGet> {
 public:
  using Result = absl::StatusOr<leaf::ProviderCredentials>;
  using FetchDone = std::function<void(Result)>;
  // Starts GET .../ag-leader-credentials for one user; `done` runs exactly
  // once, possibly before Fetch returns.
  using Fetch = std::function<std::shared_ptr<leaf::Cancellable>(const std::string& leaf_user_id,
                                                                 FetchDone done)>;
  // One result per requested id, in request order.
  using Done = std::function<void(std::vector<Result>)>;

  BatchGet(std::vector<std::string> leaf_user_ids, int fan_out, absl::Time deadline, Fetch fetch);

  // Runs `done` exactly once, when every distinct user has a result.
  void Start(Done done);
  void Cancel() override;

 private:
  void Pump();
  void OnResult(size_t slot, Result result);
  // Results for the slots not started; under mu_.
  void SkipRemaining(const absl::Status& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::vector<std::string> ids_;  // as requested
  std::vector<size_t> slot_of_;         // request position -> distinct slot
  std::vector<size_t> first_of_slot_;   // distinct slot -> first request position
  const int fan_out_;
  const absl::Time deadline_;
  const Fetch fetch_;
  Done done_;

  absl::Mutex mu_;
  std::vector<std::optional<Result>> results_ ABSL_GUARDED_BY(mu_);  // per slot
  size_t next_ ABSL_GUARDED_BY(mu_) = 0;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool pumping_ ABSL_GUARDED_BY(mu_) = false;
  bool repump_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  // The last LEAF_RATE_LIMITED result, if any.
  std::optional<absl::Status> rate_limited_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<size_t, std::shared_ptr<leaf::Cancellable>> live_ ABSL_GUARDED_BY(mu_);
};

}  // namespace leafsvc

#endif  // SERVER_OPERATIONS_BATCH_GET_H_
