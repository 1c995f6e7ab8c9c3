#include "server/budget/budget_flags.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace leafsvc::budget {

void AddRequestBudgetFlags(FlagSet& f) {
  using T = FlagSet::Type;
  f.Add("leaf_requests_per_minute", T::kInt, "1000",
        "most requests this process sends to Leaf per minute, all of them together (calls, "
        "retries, logins, webhook registration); Leaf allows about 1000 per API owner; share it "
        "between replicas; 0: unlimited");
  f.Add("leaf_burst", T::kInt, "20",
        "requests to Leaf that may leave at once after a quiet spell, within "
        "--leaf_requests_per_minute");
  f.Add("leaf_background_min_share", T::kString, "10%",
        "the least share of Leaf requests kept for background work (alert-prompted reads, watch "
        "polls, ListCredentials and BatchGetCredentials) while callers' calls wait, so it is "
        "never starved; 0% to 50%");
  f.SetRange("leaf_requests_per_minute", 0, 1000000);
  f.SetRange("leaf_burst", 1, 100000);
}

absl::StatusOr<double> ParseShare(absl::string_view flag, absl::string_view text) {
  absl::string_view t = absl::StripAsciiWhitespace(text);
  const bool percent = absl::ConsumeSuffix(&t, "%");
  double value = 0;
  if (!absl::SimpleAtod(t, &value) || !(value >= 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " must be a percentage such as 10% (got \"", text, "\")"));
  }
  if (percent || value > 1) value /= 100;
  if (value > 0.5) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " must be between 0% and 50% (got \"", text, "\")"));
  }
  return value;
}

absl::StatusOr<RequestBudgetOptions> ReadRequestBudgetFlags(const FlagSet& f) {
  RequestBudgetOptions o;
  o.requests_per_minute = static_cast<double>(f.GetInt("leaf_requests_per_minute"));
  o.burst = static_cast<int>(f.GetInt("leaf_burst"));
  absl::StatusOr<double> share =
      ParseShare("leaf_background_min_share", f.GetString("leaf_background_min_share"));
  if (!share.ok()) return share.status();
  o.background_min_share = *share;
  return o;
}

}  // namespace leafsvc::budget
