#include "tests/integration/harness.h"

#include <grpcpp/generic/generic_stub.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace leafsvc::testing {

namespace v1 = ::leaf::agleader::v1;

std::unique_ptr<Harness> Harness::Start(
    std::function<void(leafemu::EmulatorOptions&)> tweak_emulator,
    std::function<void(ServerConfig&)> tweak_server) {
  auto h = std::unique_ptr<Harness>(new Harness);
  leafemu::EmulatorOptions eo;
  eo.static_tokens = {kStaticToken};
  if (tweak_emulator) tweak_emulator(eo);
  auto emulator = leafemu::LeafEmulator::Start(eo);
  EXPECT_TRUE(emulator.ok()) << emulator.status();
  if (!emulator.ok()) return nullptr;
  h->emulator_ = *std::move(emulator);

  ServerConfig config = Config(h->emulator_->base_url());
  if (tweak_server) tweak_server(config);
  auto app = App::Start(config);
  EXPECT_TRUE(app.ok()) << app.status();
  if (!app.ok()) return nullptr;
  h->app_ = *std::move(app);
  h->channel_ = grpc::CreateChannel(h->app_->target(), grpc::InsecureChannelCredentials());
  h->stub_ = v1::AgLeaderCredentials::NewStub(h->channel_);
  return h;
}

ServerConfig Harness::Config(const std::string& leaf_api_url) {
  ServerConfig config;  // nothing else changed: tests run on production's defaults
  config.listen = "127.0.0.1:0";
  config.leaf_api_url = leaf_api_url;
  config.leaf_token = Secret(kStaticToken);
  config.upstream_timeout = absl::Seconds(5);
  config.page_token_key = "test-key";
  // Production's budget code path, at a rate these tests never reach (the
  // budget's own tests, budget_test and rate_limit_test, use real rates).
  config.leaf_budget.requests_per_minute = 600000;
  config.leaf_budget.burst = 1000;
  return config;
}

std::unique_ptr<grpc::ClientContext> Harness::Context(absl::Duration timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return ctx;
}

v1::Credentials Harness::Create(const std::string& user, const std::string& refresh_token,
                                const std::string& private_key) {
  v1::CreateCredentialsRequest req;
  req.set_leaf_user_id(user);
  req.set_refresh_token(refresh_token);
  req.set_public_key("public-key-CCCC3333");
  req.set_private_key(private_key);
  v1::Credentials out;
  grpc::Status st = stub_->CreateCredentials(Context().get(), req, &out);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return out;
}

namespace {

google::rpc::Status StatusProto(const grpc::Status& status) {
  google::rpc::Status proto;
  proto.ParseFromString(status.error_details());
  return proto;
}

}  // namespace

google::rpc::ErrorInfo ErrorInfoOf(const grpc::Status& status) {
  google::rpc::ErrorInfo info;
  const google::rpc::Status proto = StatusProto(status);
  for (const auto& any : proto.details()) {
    if (any.UnpackTo(&info)) return info;
  }
  return google::rpc::ErrorInfo();
}

google::rpc::BadRequest BadRequestOf(const grpc::Status& status) {
  google::rpc::BadRequest bad;
  const google::rpc::Status proto = StatusProto(status);
  for (const auto& any : proto.details()) {
    if (any.UnpackTo(&bad)) return bad;
  }
  return google::rpc::BadRequest();
}

bool RetryInfoOf(const grpc::Status& status, int64_t* delay_ms) {
  google::rpc::RetryInfo retry;
  const google::rpc::Status proto = StatusProto(status);
  for (const auto& any : proto.details()) {
    if (any.UnpackTo(&retry)) {
      *delay_ms = retry.retry_delay().seconds() * 1000 + retry.retry_delay().nanos() / 1000000;
      return true;
    }
  }
  return false;
}

grpc::Status CallRaw(Harness& h, const std::string& method, const std::string& bytes) {
  grpc::GenericStub stub(h.channel());
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&ctx, "/leaf.agleader.v1.AgLeaderCredentials/" + method, grpc::StubOptions(),
                 &request, &response, [&](grpc::Status s) {
                   std::lock_guard<std::mutex> lock(mu);
                   status = s;
                   done = true;
                   cv.notify_all();
                 });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait_for(lock, std::chrono::seconds(15), [&] { return done; });
  return status;
}

bool WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

}  // namespace leafsvc::testing
