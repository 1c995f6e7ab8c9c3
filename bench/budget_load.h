// The load of the budget scenario (issue 20, bench/budget_bench.h), all at
// once against the service: WatchCredentials streams over the seeded users,
// callers doing GetCredentials of random users, and one BatchGetCredentials
// of many users split into calls of at most 500 ids, run side by side.
#ifndef BENCH_BUDGET_LOAD_H_
#define BENCH_BUDGET_LOAD_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace bench {

struct BudgetLoadOptions {
  std::string target;              // the service, host:port
  std::vector<std::string> users;  // the seeded Leaf user ids, all watched
  int callers = 20;
  // Between a caller's Gets; longer when the service's RetryInfo says so.
  std::chrono::milliseconds caller_pause{3000};
  std::chrono::milliseconds call_deadline{10000};
  int batch_users = 2000;  // the first ones of `users`
  std::chrono::milliseconds batch_deadline{120000};
};

// Users per WatchCredentials request and ids per BatchGetCredentials
// request: the contract's maxima (proto/.../agleader_credentials.proto).
inline constexpr int kWatchUsersPerStream = 100;
inline constexpr int kBatchIdsPerCall = 500;

struct WatchFigures {
  int streams = 0;
  std::int64_t initial = 0;  // CHANGE_KIND_INITIAL messages
  std::int64_t errors = 0;   // CHANGE_KIND_ERROR messages
  std::int64_t changes = 0;  // any other kind
  // Since Start, when the last user's first INITIAL arrived; -1 when some
  // never got one.
  double all_initial_after_s = -1;
  std::map<std::string, int> ended;  // how streams ended before Stop, by code
};

struct CallerFigures {
  std::vector<std::int64_t> latencies_ns;  // every GetCredentials, ok or not
  std::map<std::string, std::int64_t> codes;
};

struct BatchFigures {
  int calls = 0;
  std::int64_t users = 0;                            // ids requested
  std::int64_t fetched = 0;                          // results with credentials
  std::int64_t rate_limited = 0;                     // errors with reason LEAF_RATE_LIMITED
  std::map<std::string, std::int64_t> other_errors;  // by "CODE/REASON"
  std::map<std::string, int> call_codes;             // how the calls ended
  double seconds = 0;                                // until the last call returned
};

class BudgetLoad {
 public:
  explicit BudgetLoad(BudgetLoadOptions options);
  ~BudgetLoad();  // Stop()
  BudgetLoad(const BudgetLoad&) = delete;
  BudgetLoad& operator=(const BudgetLoad&) = delete;

  // Opens the streams and starts the callers and the batch calls.
  void Start();
  // Stops the callers, cancels the streams, waits for the batch calls (each
  // ends by its deadline at the latest) and every thread. Idempotent.
  void Stop();

  // Valid after Stop().
  const WatchFigures& watch() const;
  const CallerFigures& callers() const;
  const BatchFigures& batch() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A caller's wait after RESOURCE_EXHAUSTED: the RetryInfo delay in the
// status's google.rpc.Status details, or 0 when there is none. Exposed for
// tests.
std::chrono::milliseconds RetryDelayOf(const std::string& error_details);

// The ErrorInfo reason in serialized google.rpc.Status-compatible details
// (a call's error_details, or an ErrorStatus's), empty when none.
std::string ReasonOf(const std::string& error_details);

}  // namespace bench

#endif  // BENCH_BUDGET_LOAD_H_
