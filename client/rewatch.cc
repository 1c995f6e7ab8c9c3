#include "client/rewatch.h"

#include <algorithm>
#include <utility>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace leafsvc::client {
namespace {

// The service's google.rpc.Status of a failed call; empty when it sent none.
google::rpc::Status DetailsOf(const grpc::Status& status) {
  google::rpc::Status details;
  if (!status.error_details().empty()) details.ParseFromString(status.error_details());
  return details;
}

bool HasErrorInfo(const grpc::Status& status) {
  const google::rpc::Status details = DetailsOf(status);
  for (const auto& any : details.details()) {
    if (any.Is<google::rpc::ErrorInfo>()) return true;
  }
  return false;
}

}  // namespace

std::optional<absl::Duration> RetryInfoDelay(const grpc::Status& status) {
  const google::rpc::Status details = DetailsOf(status);
  for (const auto& any : details.details()) {
    google::rpc::RetryInfo retry;
    if (any.UnpackTo(&retry)) {
      return absl::Seconds(retry.retry_delay().seconds()) +
             absl::Nanoseconds(retry.retry_delay().nanos());
    }
  }
  return std::nullopt;
}

bool IsRetriableWatchEnd(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return true;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return RetryInfoDelay(status).has_value();
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::INTERNAL:
      // The service puts an ErrorInfo on every error it sends; without one
      // the stream was cut below it.
      return !HasErrorInfo(status);
    default:
      return false;
  }
}

Rewatcher::Rewatcher(RewatchOptions options, std::function<double()> random)
    : options_(std::move(options)), random_(std::move(random)) {}

void Rewatcher::OnChange() { healthy_ = true; }

std::optional<absl::Duration> Rewatcher::OnEnd(const grpc::Status& status, absl::Duration lasted) {
  if (healthy_ || lasted >= options_.healthy_after) attempts_ = 0;
  healthy_ = false;
  if (!IsRetriableWatchEnd(status)) return std::nullopt;
  if (options_.max_attempts >= 0 && attempts_ >= options_.max_attempts) return std::nullopt;
  const int step = attempts_++;
  if (std::optional<absl::Duration> asked = RetryInfoDelay(status)) {
    return std::clamp(*asked, absl::ZeroDuration(), options_.max_retry_info);
  }
  absl::Duration backoff = options_.initial_backoff;
  for (int i = 0; i < step && backoff < options_.max_backoff; ++i) backoff *= 2;
  backoff = std::min(backoff, options_.max_backoff);
  return backoff * (0.5 + 0.5 * std::clamp(random_(), 0.0, 1.0));
}

}  // namespace leafsvc::client
