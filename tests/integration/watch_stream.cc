#include "tests/integration/watch_stream.h"

namespace leafsvc::testing {

namespace v1 = ::leaf::agleader::v1;

WatchStream::WatchStream(v1::AgLeaderCredentials::Stub& stub, const std::vector<std::string>& users,
                         const std::string& resume_token) {
  v1::WatchCredentialsRequest req;
  for (const std::string& u : users) req.add_leaf_user_ids(u);
  req.set_resume_token(resume_token);
  context_.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  reader_ = stub.WatchCredentials(&context_, req);
  thread_ = std::thread([this] {
    v1::CredentialsChange change;
    while (reader_->Read(&change)) {
      absl::MutexLock lock(&mu_);
      changes_.push_back(change);
    }
    grpc::Status st = reader_->Finish();
    absl::MutexLock lock(&mu_);
    status_ = st;
  });
}

WatchStream::~WatchStream() {
  context_.TryCancel();
  thread_.join();
}

std::optional<v1::CredentialsChange> WatchStream::Next(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(
                           +[](WatchStream* s) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                             return !s->changes_.empty() || s->status_.has_value();
                           },
                           this),
                       timeout);
  if (changes_.empty()) return std::nullopt;
  v1::CredentialsChange c = changes_.front();
  changes_.pop_front();
  return c;
}

std::optional<grpc::Status> WatchStream::Ended(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(
      absl::Condition(
          +[](WatchStream* s) ABSL_NO_THREAD_SAFETY_ANALYSIS { return s->status_.has_value(); },
          this),
      timeout);
  return status_;
}

}  // namespace leafsvc::testing
