// Clean shutdown of the server process: on SIGTERM health turns NOT_SERVING,
// new calls are refused, calls in flight get up to --shutdown_grace to
// finish, and the process exits 0.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <future>

#include "absl/time/clock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"
#include "tests/process/stack.h"
#include "third_party/grpc_proto/grpc/health/v1/health.grpc.pb.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;
using grpc::health::v1::HealthCheckResponse;

constexpr char kUser[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

// A GetCredentials call running in the background.
struct PendingCall {
  grpc::ClientContext context;
  v1::GetCredentialsRequest request;
  v1::Credentials response;
  std::promise<grpc::Status> done;
};

std::unique_ptr<PendingCall> StartGet(v1::AgLeaderCredentials::Stub& stub) {
  auto call = std::make_unique<PendingCall>();
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  call->request.set_leaf_user_id(kUser);
  stub.async()->GetCredentials(&call->context, &call->request, &call->response,
                               [c = call.get()](grpc::Status s) { c->done.set_value(s); });
  return call;
}

void AddLatency(Stack& stack, int ms) {
  ASSERT_EQ(stack.Control("POST", "/_emulator/faults",
                          "{\"kind\":\"latency_only\",\"latency_ms\":" + std::to_string(ms) +
                              ",\"times\":-1,\"path_contains\":\"ag-leader-credentials\"}"),
            200);
}

// Waits until the emulator has seen `n` credential requests.
bool WaitForUpstream(Stack& stack, int n) {
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (absl::Now() < until) {
    if (stack.UpstreamRequests("ag-leader-credentials") >= n) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

TEST(ShutdownTest, CallsInFlightFinishWithinTheGraceAndTheProcessExitsZero) {
  auto stack = Stack::Start({"--shutdown_grace=10s"});
  ASSERT_NE(stack, nullptr);
  AddLatency(*stack, 1500);
  auto channel = grpc::CreateChannel(stack->target(), grpc::InsecureChannelCredentials());
  auto stub = v1::AgLeaderCredentials::NewStub(channel);
  auto health = grpc::health::v1::Health::NewStub(channel);

  // Watch health from before the signal: the stream sees NOT_SERVING.
  grpc::ClientContext watch_ctx;
  watch_ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  grpc::health::v1::HealthCheckRequest watch_req;
  auto watch = health->Watch(&watch_ctx, watch_req);
  HealthCheckResponse status;
  ASSERT_TRUE(watch->Read(&status));
  EXPECT_EQ(status.status(), HealthCheckResponse::SERVING);

  auto in_flight = StartGet(*stub);
  ASSERT_TRUE(WaitForUpstream(*stack, 1));
  const absl::Time signalled = absl::Now();
  stack->server().Signal(SIGTERM);

  ASSERT_TRUE(watch->Read(&status));
  EXPECT_EQ(status.status(), HealthCheckResponse::NOT_SERVING);

  // New calls are refused while the old one drains.
  absl::SleepFor(absl::Milliseconds(100));
  auto late = StartGet(*stub);
  auto late_status = late->done.get_future();
  ASSERT_EQ(late_status.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(late_status.get().error_code(), grpc::StatusCode::UNAVAILABLE);

  // The call in flight completes normally (Leaf answers 404: no credentials).
  auto first = in_flight->done.get_future();
  ASSERT_EQ(first.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(first.get().error_code(), grpc::StatusCode::NOT_FOUND);

  EXPECT_EQ(stack->server().Wait(absl::Seconds(10)), std::optional<int>(0));
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(5));
  watch_ctx.TryCancel();
}

google::rpc::ErrorInfo ErrorInfoOf(const grpc::Status& status) {
  google::rpc::Status details;
  google::rpc::ErrorInfo info;
  if (!details.ParseFromString(status.error_details())) return info;
  for (const auto& any : details.details()) {
    if (any.UnpackTo(&info)) return info;
  }
  return info;
}

// With --upstream_timeout longer than --shutdown_grace, the calls the grace
// cuts (a create among them) end as UNAVAILABLE SHUTTING_DOWN with full
// ErrorInfo, not gRPC's bare "Cancelling all calls".
TEST(ShutdownTest, CallsOutlastingTheGraceEndAsShuttingDownAndTheProcessStillExitsZero) {
  auto stack = Stack::Start({"--shutdown_grace=500ms", "--upstream_timeout=30s"});
  ASSERT_NE(stack, nullptr);
  AddLatency(*stack, 8000);
  auto stub = v1::AgLeaderCredentials::NewStub(
      grpc::CreateChannel(stack->target(), grpc::InsecureChannelCredentials()));
  auto in_flight = StartGet(*stub);
  grpc::ClientContext create_ctx;
  create_ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  v1::CreateCredentialsRequest create;
  create.set_leaf_user_id(kUser);
  create.set_refresh_token("shutdown-refresh-token");
  create.set_public_key("pk");
  create.set_private_key("shutdown-private-key");
  v1::Credentials created;
  std::promise<grpc::Status> create_done;
  stub->async()->CreateCredentials(&create_ctx, &create, &created,
                                   [&create_done](grpc::Status s) { create_done.set_value(s); });
  ASSERT_TRUE(WaitForUpstream(*stack, 2));
  const absl::Time signalled = absl::Now();
  stack->server().Signal(SIGTERM);
  EXPECT_EQ(stack->server().Wait(absl::Seconds(10)), std::optional<int>(0));
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(3));
  auto result = in_flight->done.get_future();
  ASSERT_EQ(result.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  const grpc::Status get = result.get();
  EXPECT_EQ(get.error_code(), grpc::StatusCode::UNAVAILABLE) << get.error_message();
  EXPECT_EQ(ErrorInfoOf(get).reason(), "SHUTTING_DOWN");
  auto create_result = create_done.get_future();
  ASSERT_EQ(create_result.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  const grpc::Status post = create_result.get();
  EXPECT_EQ(post.error_code(), grpc::StatusCode::UNAVAILABLE) << post.error_message();
  const google::rpc::ErrorInfo info = ErrorInfoOf(post);
  EXPECT_EQ(info.reason(), "SHUTTING_DOWN");
  EXPECT_EQ(info.metadata().at("request_may_have_reached_leaf"), "true");
  EXPECT_FALSE(info.metadata().at("request_id").empty());
}

}  // namespace
}  // namespace leafsvc::testing
