// No multiplication of retries: with the shipped client service config
// (which retries UNAVAILABLE up to 4 times), a call during a Leaf outage
// makes at most the server's own --max_attempts upstream requests, because
// the server tells gRPC clients not to retry what it already retried.
#include <grpcpp/grpcpp.h>

#include "client/channel.h"
#include "gtest/gtest.h"
#include "server/edge/rpc_record.h"
#include "tests/integration/harness.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;

std::unique_ptr<v1::AgLeaderCredentials::Stub> StubWithShippedConfig(Harness& h) {
  absl::StatusOr<std::string> config = client::LoadServiceConfig("");
  EXPECT_TRUE(config.ok()) << config.status();
  EXPECT_NE(config->find("retryPolicy"), std::string::npos);
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(*config);
  return v1::AgLeaderCredentials::NewStub(
      grpc::CreateCustomChannel(h.app().target(), grpc::InsecureChannelCredentials(), args));
}

leafemu::Fault Outage(int status) {
  leafemu::Fault f;
  f.kind = leafemu::Fault::Kind::kStatus;
  f.status = status;
  f.times = -1;
  f.path_contains = "ag-leader-credentials";
  return f;
}

TEST(RetryPushbackTest, AnOutageCostsLeafTheServersAttemptsNotTheirProduct) {
  auto h = Harness::Start(nullptr, [](ServerConfig& c) { c.max_attempts = 3; });
  ASSERT_NE(h, nullptr);
  auto stub = StubWithShippedConfig(*h);
  for (int status : {503, 502}) {
    SCOPED_TRACE(status);
    h->emulator().ClearRequests();
    h->emulator().InjectFault(Outage(status));
    v1::GetCredentialsRequest req;
    req.set_leaf_user_id(kUserA);
    v1::Credentials out;
    auto ctx = Harness::Context(absl::Seconds(20));
    grpc::Status st = stub->GetCredentials(ctx.get(), req, &out);
    h->emulator().ClearFaults();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_EQ(h->emulator().CountRequests("GET", "ag-leader-credentials"), 3);
    auto trailer = ctx->GetServerTrailingMetadata().find(kRetryPushbackKey);
    ASSERT_NE(trailer, ctx->GetServerTrailingMetadata().end());
    EXPECT_EQ(std::string(trailer->second.data(), trailer->second.size()), "-1");
  }
}

TEST(RetryPushbackTest, ListAndDeleteAreNotMultipliedEither) {
  auto h = Harness::Start(nullptr, [](ServerConfig& c) { c.max_attempts = 2; });
  ASSERT_NE(h, nullptr);
  auto stub = StubWithShippedConfig(*h);
  h->emulator().InjectFault(Outage(503));
  v1::ListCredentialEventsRequest list;
  list.set_leaf_user_id(kUserA);
  v1::ListCredentialEventsResponse events;
  EXPECT_EQ(stub->ListCredentialEvents(Harness::Context(absl::Seconds(20)).get(), list, &events)
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
  v1::DeleteCredentialsRequest del;
  del.set_leaf_user_id(kUserA);
  google::protobuf::Empty empty;
  EXPECT_EQ(
      stub->DeleteCredentials(Harness::Context(absl::Seconds(20)).get(), del, &empty).error_code(),
      grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(h->emulator().CountRequests("GET", "events"), 2);
  EXPECT_EQ(h->emulator().CountRequests("DELETE", "ag-leader-credentials"), 2);
}

}  // namespace
}  // namespace leafsvc::testing
