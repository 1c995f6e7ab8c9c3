#include "server/watch/leaf_credential_reader.h"

#include <utility>

#include "absl/time/clock.h"

namespace leafsvc::watch {

std::shared_ptr<leaf::Cancellable> LeafCredentialReader::Read(
    const std::string& user, std::function<void(Observation)> done) const {
  return leaf_->GetCredentials(
      user, leaf::CallOptions(absl::Now() + timeout_),
      [done = std::move(done)](absl::StatusOr<leaf::ProviderCredentials> result) {
        done(Observation::FromResult(std::move(result)));
      });
}

Poller::Fetch LeafCredentialReader::AsFetch() const {
  return [this](const std::string& user, std::function<void(Observation)> done) {
    return Read(user, std::move(done));
  };
}

}  // namespace leafsvc::watch
