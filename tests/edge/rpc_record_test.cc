// RpcRecord through a real gRPC call: the request id (the caller's when
// acceptable, else a new one) in trailers and ErrorInfo, the Leaf user id
// only when well formed, the call's secrets (request fields, x-leaf-token,
// Authorization) redacted from what the caller gets, the retry pushback
// only after Leaf was asked, and the metrics of the call.
#include "server/edge/rpc_record.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"

namespace leafsvc {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr char kUser[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
constexpr char kFieldSecret[] = "field-secret-0123456789abcdef";

// GetCredentials ends at once with the status the request describes: the
// leaf_user_id goes to the record, the view picks the outcome.
class RecordService final : public v1::AgLeaderCredentials::CallbackService {
 public:
  explicit RecordService(Metrics* metrics) : metrics_(metrics) {}
  grpc::ServerUnaryReactor* GetCredentials(grpc::CallbackServerContext* context,
                                           const v1::GetCredentialsRequest* request,
                                           v1::Credentials*) override {
    RpcRecord record(context, "GetCredentials", request->leaf_user_id(), metrics_);
    record.AddCallSecret(kFieldSecret);
    record.AddCallSecret("abc");  // below kMinSecretBytes: not a secret worth redacting
    absl::Status status;
    switch (request->view()) {
      case v1::CREDENTIALS_VIEW_FULL:
        // Leaf answered, then the call failed: a retry would ask Leaf again.
        record.stats()->attempts = 1;
        status = absl::UnavailableError("Leaf is down");
        break;
      case v1::CREDENTIALS_VIEW_BASIC:
        status = MakeError(reasons::kShuttingDown, "going away");
        record.stats()->attempts = 1;
        break;
      default: {
        std::string echo;
        for (const auto& [k, v] : context->client_metadata()) {
          absl::StrAppend(&echo, std::string(k.data(), k.size()), "=",
                          std::string(v.data(), v.size()), " ");
        }
        status = absl::InvalidArgumentError(absl::StrCat("echo: ", kFieldSecret, " abc ", echo));
      }
    }
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(record.End(status));
    return reactor;
  }

 private:
  Metrics* const metrics_;
};

google::rpc::ErrorInfo InfoOf(const grpc::Status& status) {
  google::rpc::Status s;
  google::rpc::ErrorInfo info;
  if (s.ParseFromString(status.error_details())) {
    for (const auto& any : s.details()) {
      if (any.UnpackTo(&info)) break;
    }
  }
  return info;
}

class RpcRecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ = std::make_unique<RecordService>(&metrics_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::AgLeaderCredentials::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override { server_->Shutdown(std::chrono::system_clock::now()); }

  grpc::Status Call(v1::CredentialsView view, const std::string& user,
                    const std::multimap<std::string, std::string>& metadata,
                    std::multimap<std::string, std::string>* trailers) {
    v1::GetCredentialsRequest r;
    r.set_leaf_user_id(user);
    r.set_view(view);
    grpc::ClientContext ctx;
    for (const auto& [k, v] : metadata) ctx.AddMetadata(k, v);
    v1::Credentials out;
    grpc::Status st = stub_->GetCredentials(&ctx, r, &out);
    for (const auto& [k, v] : ctx.GetServerTrailingMetadata()) {
      trailers->emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
    }
    return st;
  }

  Metrics metrics_;
  std::unique_ptr<RecordService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::AgLeaderCredentials::Stub> stub_;
};

TEST_F(RpcRecordTest, TheCallersRequestIdIsEchoedInTrailersAndErrorInfo) {
  std::multimap<std::string, std::string> trailers;
  grpc::Status st =
      Call(v1::CREDENTIALS_VIEW_UNSPECIFIED, kUser, {{"x-request-id", "caller-id-42"}}, &trailers);
  ASSERT_EQ(trailers.count("x-request-id"), 1u);
  EXPECT_EQ(trailers.find("x-request-id")->second, "caller-id-42");
  EXPECT_EQ(InfoOf(st).metadata().at("request_id"), "caller-id-42");
  EXPECT_EQ(InfoOf(st).metadata().at("leaf_user_id"), kUser);
}

TEST_F(RpcRecordTest, AnUnacceptableRequestIdIsReplacedByAGeneratedOne) {
  for (const std::string& bad : {std::string("has space"), std::string(129, 'a')}) {
    std::multimap<std::string, std::string> trailers;
    grpc::Status st =
        Call(v1::CREDENTIALS_VIEW_UNSPECIFIED, kUser, {{"x-request-id", bad}}, &trailers);
    ASSERT_EQ(trailers.count("x-request-id"), 1u);
    const std::string id = trailers.find("x-request-id")->second;
    EXPECT_NE(id, bad);
    EXPECT_EQ(id.size(), 32u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  }
}

TEST_F(RpcRecordTest, AMalformedLeafUserIdIsNotRepeated) {
  std::multimap<std::string, std::string> trailers;
  grpc::Status st = Call(v1::CREDENTIALS_VIEW_UNSPECIFIED, "<script>", {}, &trailers);
  EXPECT_EQ(InfoOf(st).metadata().count("leaf_user_id"), 0u);
  EXPECT_FALSE(absl::StrContains(st.error_details(), "<script>"));
}

TEST_F(RpcRecordTest, TheCallsSecretsAreRedactedFromTheError) {
  std::multimap<std::string, std::string> trailers;
  const std::string token = "x-leaf-token-0123456789abcdef";
  const std::string bearer = "bearer-key-0123456789abcdef";
  grpc::Status st =
      Call(v1::CREDENTIALS_VIEW_UNSPECIFIED, kUser,
           {{"x-leaf-token", token}, {"authorization", "Bearer " + bearer}}, &trailers);
  const std::string all = st.error_message() + st.error_details();
  for (const std::string& secret : {std::string(kFieldSecret), token, bearer}) {
    EXPECT_FALSE(absl::StrContains(all, secret.substr(0, 10))) << secret << " in " << all;
    EXPECT_FALSE(absl::StrContains(all, secret.substr(secret.size() - 10))) << secret;
  }
  // Below the minimum length nothing is treated as a secret.
  EXPECT_TRUE(absl::StrContains(st.error_message(), " abc "));
}

TEST_F(RpcRecordTest, RetryPushbackOnlyAfterLeafWasAskedAndNotWhenShuttingDown) {
  std::multimap<std::string, std::string> trailers;
  Call(v1::CREDENTIALS_VIEW_FULL, kUser, {}, &trailers);
  ASSERT_EQ(trailers.count("grpc-retry-pushback-ms"), 1u);
  EXPECT_EQ(trailers.find("grpc-retry-pushback-ms")->second, "-1");
  trailers.clear();
  Call(v1::CREDENTIALS_VIEW_UNSPECIFIED, kUser, {}, &trailers);
  EXPECT_EQ(trailers.count("grpc-retry-pushback-ms"), 0u);
  trailers.clear();
  Call(v1::CREDENTIALS_VIEW_BASIC, kUser, {}, &trailers);
  EXPECT_EQ(trailers.count("grpc-retry-pushback-ms"), 0u);
}

TEST_F(RpcRecordTest, EveryCallIsCountedStartedAndHandled) {
  std::multimap<std::string, std::string> trailers;
  Call(v1::CREDENTIALS_VIEW_UNSPECIFIED, kUser, {}, &trailers);
  Call(v1::CREDENTIALS_VIEW_FULL, kUser, {}, &trailers);
  const std::string text = metrics_.Text();
  EXPECT_TRUE(
      absl::StrContains(text,
                        "grpc_server_started_total{grpc_method=\"GetCredentials\",grpc_service="
                        "\"leaf.agleader.v1.AgLeaderCredentials\",grpc_type=\"unary\"} 2"))
      << text;
}

}  // namespace
}  // namespace leafsvc
