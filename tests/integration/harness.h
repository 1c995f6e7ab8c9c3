// The real stack in one process: the Leaf emulator (real HTTP on loopback),
// the service (App: real libcurl transport, real gRPC server on loopback) and
// a generated stub over a real channel.
#ifndef TESTS_INTEGRATION_HARNESS_H_
#define TESTS_INTEGRATION_HARNESS_H_

#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/time/time.h"

#include "emulator/leaf_emulator.h"
#include "google/rpc/error_details.pb.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"
#include "server/app.h"

namespace leafsvc::testing {

inline constexpr char kStaticToken[] = "integration-test-token";
inline constexpr char kUserA[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
inline constexpr char kUserB[] = "0b0e8a52-1c2d-0e3f-8a9b-123456789abc";  // version nibble 0

class Harness {
 public:
  // Starts an emulator (accepting kStaticToken) and a server using it with
  // that static token; `tweak` may change either configuration first.
  static std::unique_ptr<Harness> Start(
      std::function<void(leafemu::EmulatorOptions&)> tweak_emulator = nullptr,
      std::function<void(ServerConfig&)> tweak_server = nullptr);

  // The server configuration Start uses before `tweak_server`: production's
  // defaults (ServerConfig's, which are the flag table's) except for the
  // listen address, the Leaf URL and token, a shorter upstream timeout and a
  // fixed page-token key.
  static ServerConfig Config(const std::string& leaf_api_url);

  leafemu::LeafEmulator& emulator() { return *emulator_; }
  App& app() { return *app_; }
  ::leaf::agleader::v1::AgLeaderCredentials::Stub& stub() { return *stub_; }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }

  // A context with a deadline (tests never wait forever).
  static std::unique_ptr<grpc::ClientContext> Context(
      absl::Duration timeout = absl::Seconds(10));

  // Creates credentials for `user` through the service; fails the test on error.
  ::leaf::agleader::v1::Credentials Create(const std::string& user,
                                           const std::string& refresh_token = "refresh-token-AAAA1111",
                                           const std::string& private_key = "private-key-BBBB2222");

 private:
  std::unique_ptr<leafemu::LeafEmulator> emulator_;
  std::unique_ptr<App> app_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<::leaf::agleader::v1::AgLeaderCredentials::Stub> stub_;
};

// The ErrorInfo in a status's details (default instance if none).
google::rpc::ErrorInfo ErrorInfoOf(const grpc::Status& status);
google::rpc::BadRequest BadRequestOf(const grpc::Status& status);
// Whether the details hold a RetryInfo, and its delay in ms.
bool RetryInfoOf(const grpc::Status& status, int64_t* delay_ms);

// Sends `bytes` as the request of `method` (e.g. "GetCredentials") of the
// service, unparsed, and returns the call's status (a server-streaming
// method sends its one request and ends with its status the same way).
grpc::Status CallRaw(Harness& h, const std::string& method, const std::string& bytes);

// Polls `done` every 5 ms until it holds (true) or `timeout` passes (false).
bool WaitFor(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(10));

}  // namespace leafsvc::testing

#endif  // TESTS_INTEGRATION_HARNESS_H_
