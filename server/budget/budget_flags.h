// The flags of the Leaf request budget: --leaf_requests_per_minute,
// --leaf_burst and --leaf_background_min_share (docs/rate-limits.md).
#ifndef SERVER_BUDGET_BUDGET_FLAGS_H_
#define SERVER_BUDGET_BUDGET_FLAGS_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/budget/request_budget.h"
#include "server/config/flags.h"

namespace leafsvc::budget {

void AddRequestBudgetFlags(FlagSet& flags);
// INVALID_ARGUMENT naming the flag for a share that is not a percentage.
absl::StatusOr<RequestBudgetOptions> ReadRequestBudgetFlags(const FlagSet& flags);

// "10%", "10" (percent) or "0.1" (a fraction, for values up to 1) -> 0.1;
// 0 to 50% allowed.
absl::StatusOr<double> ParseShare(absl::string_view flag, absl::string_view text);

}  // namespace leafsvc::budget

#endif  // SERVER_BUDGET_BUDGET_FLAGS_H_
