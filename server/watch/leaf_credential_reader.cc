#include "server/watch/leaf_credential_reader.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"
#include "server/budget/budgeted_http_client.h"

namespace leafsvc::watch {

int LeafCredentialReader::PriorityOf(Source source) {
  // An alert (or a connect link) says a credential changed: its read goes
  // ahead of routine polls.
  return budget::PriorityOf(IsPrompted(source) ? budget::RequestClass::kPrompted
                                               : budget::RequestClass::kPoll);
}

std::shared_ptr<leaf::Cancellable> LeafCredentialReader::Read(
    const std::string& user, Source source, std::function<void(Observation)> done) const {
  leaf::CallOptions options(absl::Now() + timeout_);
  options.priority = PriorityOf(source);
  return leaf_->GetCredentials(
      user, options, [done = std::move(done)](absl::StatusOr<leaf::ProviderCredentials> result) {
        done(Observation::FromResult(std::move(result)));
      });
}

std::shared_ptr<leaf::Cancellable> LeafCredentialReader::ReadPage(int page, int size,
                                                                  absl::Time deadline,
                                                                  Sweeper::PageDone done) const {
  leaf::CallOptions options(std::min(deadline, absl::Now() + timeout_));
  options.priority = PriorityOf(Source::kPoll);
  return leaf_->ListUsers(page, size, options, std::move(done));
}

Poller::Fetch LeafCredentialReader::AsFetch() const {
  return [this](const std::string& user, Source source, std::function<void(Observation)> done) {
    return Read(user, source, std::move(done));
  };
}

Sweeper::SweepFetch LeafCredentialReader::AsSweepFetch() const {
  return [this](int page, int size, absl::Time deadline, Sweeper::PageDone done) {
    return ReadPage(page, size, deadline, std::move(done));
  };
}

}  // namespace leafsvc::watch
