// A keep-alive connection to Leaf that goes silent costs no call its
// deadline: the real server, through libcurl, against an upstream that
// answers the first request on each connection and then never again on it.
#include <grpcpp/grpcpp.h>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"
#include "server/app.h"
#include "tests/http/silent_upstream.h"
#include "tests/integration/harness.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr char kCredentialsJson[] =
    R"({"id":"c1","status":"OK","createdTime":"2023-04-21T12:16:27.997586Z",)"
    R"("refreshToken":"rt-0001","publicKey":"pk","privateKey":"sk-0002"})";

std::unique_ptr<App> StartAgainst(int port, absl::Duration first_byte) {
  ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.leaf_api_url = "http://127.0.0.1:" + std::to_string(port);
  config.leaf_token = Secret("token");
  config.upstream_timeout = absl::Seconds(10);
  config.max_connections_per_host = 1;
  config.upstream_first_byte_timeout = first_byte;
  auto app = App::Start(config);
  EXPECT_TRUE(app.ok()) << app.status();
  return app.ok() ? *std::move(app) : nullptr;
}

grpc::Status Get(v1::AgLeaderCredentials::Stub& stub) {
  v1::GetCredentialsRequest req;
  req.set_leaf_user_id(kUserA);
  v1::Credentials out;
  return stub.GetCredentials(Harness::Context(absl::Seconds(10)).get(), req, &out);
}

TEST(DeadConnectionTest, ASilentPooledConnectionIsReplacedWithinTheFirstByteTimeout) {
  http::testing::SilentUpstream leaf(kCredentialsJson);
  ASSERT_TRUE(leaf.Start());
  auto app = StartAgainst(leaf.port(), absl::Milliseconds(300));
  ASSERT_NE(app, nullptr);
  auto stub = v1::AgLeaderCredentials::NewStub(
      grpc::CreateChannel(app->target(), grpc::InsecureChannelCredentials()));
  ASSERT_TRUE(Get(*stub).ok());
  for (int i = 0; i < 3; ++i) {
    const absl::Time start = absl::Now();
    grpc::Status st = Get(*stub);
    const absl::Duration took = absl::Now() - start;
    EXPECT_TRUE(st.ok()) << st.error_message();
    EXPECT_LT(took, absl::Seconds(2)) << "the call waited on the dead connection";
  }
  EXPECT_EQ(leaf.ignored(), 3);
  EXPECT_EQ(leaf.connections(), 4);
}

TEST(DeadConnectionTest, WithTheLimitOffTheCallWaitsOutItsDeadline) {
  // The control: proves the upstream really is silent on a reused connection.
  http::testing::SilentUpstream leaf(kCredentialsJson);
  ASSERT_TRUE(leaf.Start());
  auto app = StartAgainst(leaf.port(), absl::ZeroDuration());
  ASSERT_NE(app, nullptr);
  auto stub = v1::AgLeaderCredentials::NewStub(
      grpc::CreateChannel(app->target(), grpc::InsecureChannelCredentials()));
  ASSERT_TRUE(Get(*stub).ok());
  v1::GetCredentialsRequest req;
  req.set_leaf_user_id(kUserA);
  v1::Credentials out;
  grpc::Status st = stub->GetCredentials(Harness::Context(absl::Seconds(1)).get(), req, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
}

}  // namespace
}  // namespace leafsvc::testing
