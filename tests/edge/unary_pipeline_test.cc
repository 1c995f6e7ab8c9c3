// The unary pipeline through real gRPC on loopback, with test rows whose
// operations the test controls: the order of the steps (nothing starts
// before parse, admission and validation pass), exactly one end per call
// however the operation ends (inline, later, cancelled), the response
// mapping, the x-leaf-token rule and the redaction of a call's secrets.
#include "server/edge/unary_pipeline.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"

namespace leafsvc {
namespace {

namespace v1 = ::leaf::agleader::v1;

// An operation the test ends by hand (or by cancelling it).
class HeldOperation final : public leaf::Cancellable {
 public:
  explicit HeldOperation(std::function<void(absl::StatusOr<std::string>)> done)
      : done_(std::move(done)) {}
  void Cancel() override {
    cancels.fetch_add(1);
    End(absl::CancelledError("cancelled by the test's caller"));
  }
  void End(absl::StatusOr<std::string> result) {
    std::function<void(absl::StatusOr<std::string>)> done;
    {
      absl::MutexLock lock(&mu_);
      done = std::move(done_);
      done_ = nullptr;
    }
    if (done) done(std::move(result));
  }
  std::atomic<int> cancels{0};

 private:
  absl::Mutex mu_;
  std::function<void(absl::StatusOr<std::string>)> done_ ABSL_GUARDED_BY(mu_);
};

// What the test rows do, chosen by the request's leaf_user_id.
struct Script {
  std::atomic<int> validated{0};
  std::atomic<int> started{0};
  std::mutex mu;
  std::shared_ptr<HeldOperation> held;
  std::condition_variable held_cv;
};
Script* script = nullptr;

UnaryMethod<v1::CreateCredentialsRequest, v1::Credentials, std::string> TestRow() {
  UnaryMethod<v1::CreateCredentialsRequest, v1::Credentials, std::string> m;
  m.name = "CreateCredentials";
  m.leaf_user = [](const v1::CreateCredentialsRequest& r) { return r.leaf_user_id(); };
  m.secrets = [](const v1::CreateCredentialsRequest& r) {
    return std::vector<absl::string_view>{r.refresh_token()};
  };
  m.validate = [](const v1::CreateCredentialsRequest& r, const MethodEnv&) {
    script->validated.fetch_add(1);
    if (r.public_key() == "invalid") {
      return MakeError(reasons::kInvalidRequest, "public_key: the test says it is invalid");
    }
    return absl::OkStatus();
  };
  m.start = [](const MethodEnv&, const v1::CreateCredentialsRequest& r, const CallScope& scope,
               std::function<void(absl::StatusOr<std::string>)> done)
      -> std::shared_ptr<leaf::Cancellable> {
    script->started.fetch_add(1);
    const std::string& what = r.public_key();
    if (what == "inline-error") {
      done(absl::FailedPreconditionError("refused before any Leaf call"));
      return nullptr;
    }
    if (what == "echo-secret") {
      done(absl::InternalError("Leaf said: token " + r.refresh_token() + " is bad"));
      return nullptr;
    }
    if (what == "scope") {
      done(absl::StrCat("token=", scope.leaf.leaf_token ? "yes" : "no",
                        " request_id=", scope.leaf.request_id.empty() ? "no" : "yes",
                        " stats=", scope.leaf.stats != nullptr ? "yes" : "no"));
      return nullptr;
    }
    auto op = std::make_shared<HeldOperation>(std::move(done));
    if (what == "later") {
      std::thread([op] {
        absl::SleepFor(absl::Milliseconds(20));
        op->End(std::string("later"));
      }).detach();
      return op;
    }
    std::lock_guard<std::mutex> lock(script->mu);
    script->held = op;
    script->held_cv.notify_all();
    return op;
  };
  m.respond = [](const MethodEnv&, const v1::CreateCredentialsRequest& r, std::string result,
                 v1::Credentials* out) -> absl::Status {
    if (r.public_key() == "respond-error") return absl::DataLossError("the mapping refused");
    out->set_id(result);
    return absl::OkStatus();
  };
  return m;
}

class TestService final : public v1::AgLeaderCredentials::WithRawCallbackMethod_CreateCredentials<
                              v1::AgLeaderCredentials::CallbackService> {
 public:
  explicit TestService(UnaryPipeline* pipeline) : pipeline_(pipeline), row_(TestRow()) {}
  grpc::ServerUnaryReactor* CreateCredentials(grpc::CallbackServerContext* context,
                                              const grpc::ByteBuffer* request,
                                              grpc::ByteBuffer* response) override {
    return pipeline_->Run(row_, context, request, response);
  }

 private:
  UnaryPipeline* const pipeline_;
  const UnaryMethod<v1::CreateCredentialsRequest, v1::Credentials, std::string> row_;
};

std::string ReasonOf(const grpc::Status& status) {
  google::rpc::Status s;
  if (!s.ParseFromString(status.error_details())) return "";
  for (const auto& any : s.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info)) return info.reason();
  }
  return "";
}

class UnaryPipelineTest : public ::testing::Test {
 protected:
  void Start(bool allow_caller_token = false) {
    script = &script_;
    pipeline_ = std::make_unique<UnaryPipeline>(MethodEnv{}, allow_caller_token, nullptr);
    service_ = std::make_unique<TestService>(pipeline_.get());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::AgLeaderCredentials::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
    channel_port_ = port;
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
    script = nullptr;
  }
  grpc::Status Call(const std::string& what, v1::Credentials* out,
                    absl::Duration deadline = absl::Seconds(10), const std::string& token = "",
                    const std::string& secret = "") {
    v1::CreateCredentialsRequest r;
    r.set_leaf_user_id("3fa85f64-5717-4562-b3fc-2c963f66afa6");
    r.set_public_key(what);
    r.set_refresh_token(secret);
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    if (!token.empty()) ctx.AddMetadata("x-leaf-token", token);
    return stub_->CreateCredentials(&ctx, r, out);
  }
  bool ActiveDrainsToZero() {
    const absl::Time until = absl::Now() + absl::Seconds(10);
    while (pipeline_->active_calls() != 0) {
      if (absl::Now() > until) return false;
      absl::SleepFor(absl::Milliseconds(2));
    }
    return true;
  }

  Script script_;
  std::unique_ptr<UnaryPipeline> pipeline_;
  std::unique_ptr<TestService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::AgLeaderCredentials::Stub> stub_;
  int channel_port_ = 0;
};

TEST_F(UnaryPipelineTest, MalformedBytesAreRefusedBeforeValidationAndStart) {
  Start();
  grpc::GenericStub stub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", channel_port_),
                                             grpc::InsecureChannelCredentials()));
  const std::string garbage("\x0a\xff\xff\xff\x0f", 5);  // a length past the end
  grpc::Slice slice(garbage);
  grpc::ByteBuffer request(&slice, 1), response;
  grpc::ClientContext ctx;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&ctx, "/leaf.agleader.v1.AgLeaderCredentials/CreateCredentials",
                 grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
                   std::lock_guard<std::mutex> lock(mu);
                   status = s;
                   done = true;
                   cv.notify_all();
                 });
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(15), [&] { return done; }));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(status), "MALFORMED_REQUEST");
  EXPECT_EQ(script_.validated.load(), 0);
  EXPECT_EQ(script_.started.load(), 0);
}

TEST_F(UnaryPipelineTest, DrainingRefusesBeforeValidation) {
  Start();
  pipeline_->StartDraining();
  v1::Credentials out;
  grpc::Status st = Call("ok", &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ReasonOf(st), "SHUTTING_DOWN");
  EXPECT_EQ(script_.validated.load(), 0);
  EXPECT_EQ(script_.started.load(), 0);
}

TEST_F(UnaryPipelineTest, InvalidRequestNeverStartsTheOperation) {
  Start();
  v1::Credentials out;
  grpc::Status st = Call("invalid", &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(st), "INVALID_REQUEST");
  EXPECT_EQ(script_.validated.load(), 1);
  EXPECT_EQ(script_.started.load(), 0);
}

TEST_F(UnaryPipelineTest, AnOperationThatEndsInsideStartEndsTheCallOnce) {
  Start();
  v1::Credentials out;
  grpc::Status st = Call("inline-error", &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(ActiveDrainsToZero());
}

TEST_F(UnaryPipelineTest, TheResultIsMappedIntoTheResponse) {
  Start();
  v1::Credentials out;
  ASSERT_TRUE(Call("later", &out).ok());
  EXPECT_EQ(out.id(), "later");
  EXPECT_TRUE(ActiveDrainsToZero());
}

TEST_F(UnaryPipelineTest, AMappingErrorFailsTheCall) {
  Start();
  std::thread ender([&] {
    std::unique_lock<std::mutex> lock(script_.mu);
    script_.held_cv.wait(lock, [&] { return script_.held != nullptr; });
    script_.held->End(std::string("x"));
  });
  v1::Credentials out;
  grpc::Status st = Call("respond-error", &out);
  ender.join();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_TRUE(out.id().empty());
}

TEST_F(UnaryPipelineTest, TheCallersDeadlineCancelsTheOperationOnce) {
  Start();
  v1::Credentials out;
  grpc::Status st = Call("hold", &out, absl::Milliseconds(200));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  ASSERT_TRUE(ActiveDrainsToZero());
  std::lock_guard<std::mutex> lock(script_.mu);
  ASSERT_NE(script_.held, nullptr);
  EXPECT_EQ(script_.held->cancels.load(), 1);
  // A late end after the cancel changes nothing (the call ended once).
  script_.held->End(std::string("too late"));
}

TEST_F(UnaryPipelineTest, ScopeCarriesRequestIdAndStatsButNoTokenUnlessAllowed) {
  Start(/*allow_caller_token=*/false);
  v1::Credentials out;
  ASSERT_TRUE(Call("scope", &out).ok());
  EXPECT_EQ(out.id(), "token=no request_id=yes stats=yes");
  grpc::Status st = Call("scope", &out, absl::Seconds(10), "caller-token-123");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(st), "CALLER_LEAF_TOKEN_NOT_ALLOWED");
  EXPECT_EQ(script_.started.load(), 1);
}

TEST_F(UnaryPipelineTest, AnAllowedCallerTokenReachesTheOperation) {
  Start(/*allow_caller_token=*/true);
  v1::Credentials out;
  ASSERT_TRUE(Call("scope", &out, absl::Seconds(10), "caller-token-123").ok());
  EXPECT_EQ(out.id(), "token=yes request_id=yes stats=yes");
  grpc::Status st = Call("scope", &out, absl::Seconds(10), "has space");
  EXPECT_EQ(ReasonOf(st), "INVALID_REQUEST");
}

TEST_F(UnaryPipelineTest, TheCallsSecretsAreRedactedFromItsError) {
  Start();
  v1::Credentials out;
  const std::string secret = "rt-0123456789abcdef0123456789abcdef";
  grpc::Status st = Call("echo-secret", &out, absl::Seconds(10), "", secret);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_FALSE(absl::StrContains(st.error_message(), secret.substr(0, 12))) << st.error_message();
  EXPECT_FALSE(absl::StrContains(st.error_details(), secret.substr(8, 12)));
}

}  // namespace
}  // namespace leafsvc
