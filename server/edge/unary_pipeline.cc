#include "server/edge/unary_pipeline.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/budget/budgeted_http_client.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"
#include "server/secrets/secret.h"

namespace leafsvc {

UnaryPipeline::UnaryPipeline(MethodEnv env, bool allow_caller_leaf_token, Metrics* metrics)
    : env_(std::move(env)), allow_caller_leaf_token_(allow_caller_leaf_token), metrics_(metrics) {}

absl::Status UnaryPipeline::AdmitNow() const {
  if (!draining_.load()) return absl::OkStatus();
  return MakeError(reasons::kShuttingDown,
                   "this server is shutting down; retry (another replica will answer)");
}

void UnaryPipeline::AnnounceBudget(grpc::CallbackServerContext* context, int leaf_priority) const {
  if (env_.budget == nullptr || env_.budget->unlimited() ||
      leaf_priority != budget::PriorityOf(budget::RequestClass::kBulk)) {
    return;
  }
  const double per_minute = env_.budget->ClassRequestsPerMinute(budget::RequestClass::kBulk);
  context->AddInitialMetadata(kBudgetBulkPerMinuteKey,
                              absl::StrCat(static_cast<int64_t>(std::floor(per_minute))));
}

absl::StatusOr<CallScope> UnaryPipeline::ScopeFor(const ClientMetadata& metadata,
                                                  absl::Time deadline) const {
  CallScope scope;
  scope.caller_deadline = deadline;
  scope.leaf = leaf::CallOptions(
      std::min(absl::Now() + env_.options.upstream_timeout, scope.caller_deadline));
  std::optional<absl::string_view> token = metadata.First(kCallerLeafTokenKey);
  if (!token) return scope;
  StatusDetails d;
  if (!allow_caller_leaf_token_) {
    return MakeError(reasons::kCallerLeafTokenNotAllowed,
                     "this server does not accept x-leaf-token metadata (it was not started "
                     "with --allow_caller_leaf_token); leave it out",
                     d);
  }
  const absl::string_view value = *token;
  bool printable = !value.empty() && value.size() <= kMaxSecretFieldBytes;
  for (unsigned char c : value) printable = printable && c > 0x20 && c < 0x7f;
  if (!printable) {
    d.field_violations.push_back({"x-leaf-token", "must be 1 to 8192 printable characters"});
    return MakeError(reasons::kInvalidRequest,
                     "invalid x-leaf-token metadata: must be 1 to 8192 printable characters", d);
  }
  scope.leaf.leaf_token = Secret(std::string(value));
  return scope;
}

}  // namespace leafsvc
