// A WatchCredentials stream for tests: a thread reads it into a queue, so a
// test can wait for the next change with a timeout, cancel, and see how it
// ended.
#ifndef TESTS_INTEGRATION_WATCH_STREAM_H_
#define TESTS_INTEGRATION_WATCH_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"

namespace leafsvc::testing {

class WatchStream {
 public:
  WatchStream(::leaf::agleader::v1::AgLeaderCredentials::Stub& stub,
              const std::vector<std::string>& users, const std::string& resume_token = "");
  ~WatchStream();

  // The next change, or nullopt if none arrives within `timeout`.
  std::optional<::leaf::agleader::v1::CredentialsChange> Next(
      absl::Duration timeout = absl::Seconds(5));
  void Cancel() { context_.TryCancel(); }
  // How the stream ended, once it has (waits up to `timeout`).
  std::optional<grpc::Status> Ended(absl::Duration timeout = absl::Seconds(5));

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<::leaf::agleader::v1::CredentialsChange>> reader_;
  absl::Mutex mu_;
  std::deque<::leaf::agleader::v1::CredentialsChange> changes_ ABSL_GUARDED_BY(mu_);
  std::optional<grpc::Status> status_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace leafsvc::testing

#endif  // TESTS_INTEGRATION_WATCH_STREAM_H_
