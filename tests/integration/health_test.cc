// Health that means something: "" and the service name report this process;
// "leaf-api" reports whether Leaf answers, turning NOT_SERVING only after
// failures fill --leaf_health_window and SERVING again on recovery.
#include <grpcpp/grpcpp.h>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "third_party/grpc_proto/grpc/health/v1/health.grpc.pb.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;
using grpc::health::v1::HealthCheckResponse;

class HealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    h_ = Harness::Start(nullptr, [](ServerConfig& c) {
      c.leaf_health_window = absl::Milliseconds(300);
      c.max_attempts = 1;
    });
    ASSERT_NE(h_, nullptr);
    health_ = grpc::health::v1::Health::NewStub(h_->channel());
  }

  HealthCheckResponse::ServingStatus Status(const std::string& service) {
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    HealthCheckResponse resp;
    grpc::Status st = health_->Check(Harness::Context().get(), req, &resp);
    EXPECT_TRUE(st.ok()) << service << ": " << st.error_message();
    return resp.status();
  }

  grpc::StatusCode Get() {
    v1::GetCredentialsRequest req;
    req.set_leaf_user_id(kUserA);
    v1::Credentials out;
    return h_->stub().GetCredentials(Harness::Context().get(), req, &out).error_code();
  }

  std::unique_ptr<Harness> h_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

TEST_F(HealthTest, LeafOutageTurnsOnlyLeafApiNotServingAndRecoveryClearsIt) {
  EXPECT_EQ(Status("leaf-api"), HealthCheckResponse::SERVING);
  leafemu::Fault down;
  down.kind = leafemu::Fault::Kind::kStatus;
  down.status = 503;
  down.times = -1;
  h_->emulator().InjectFault(down);

  EXPECT_EQ(Get(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Status("leaf-api"), HealthCheckResponse::SERVING);  // one failure is no outage
  absl::SleepFor(absl::Milliseconds(350));
  EXPECT_EQ(Get(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Status("leaf-api"), HealthCheckResponse::NOT_SERVING);
  // This process itself can still serve: it stays in the load balancer.
  EXPECT_EQ(Status(""), HealthCheckResponse::SERVING);
  EXPECT_EQ(Status("leaf.agleader.v1.AgLeaderCredentials"), HealthCheckResponse::SERVING);

  h_->emulator().ClearFaults();
  EXPECT_EQ(Get(), grpc::StatusCode::NOT_FOUND);  // Leaf answers again
  EXPECT_EQ(Status("leaf-api"), HealthCheckResponse::SERVING);
}

TEST_F(HealthTest, ShutdownTurnsEverythingNotServingForWatchers) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  grpc::health::v1::HealthCheckRequest req;
  auto watch = health_->Watch(&ctx, req);
  HealthCheckResponse resp;
  ASSERT_TRUE(watch->Read(&resp));
  EXPECT_EQ(resp.status(), HealthCheckResponse::SERVING);
  const absl::Time start = absl::Now();
  h_->app().Shutdown(absl::Seconds(5));
  // No call of ours was running, so the open Watch did not hold shutdown.
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  ASSERT_TRUE(watch->Read(&resp));
  EXPECT_EQ(resp.status(), HealthCheckResponse::NOT_SERVING);
}

}  // namespace
}  // namespace leafsvc::testing
