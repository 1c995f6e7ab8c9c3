// Both reflection versions, as grpcurl and buf curl use them, against an
// in-process server that serves the embedded descriptor set.
#include "server/reflection/reflection_service.h"

#include <google/protobuf/descriptor.pb.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace leafsvc::reflection {
namespace {

using google::protobuf::FileDescriptorProto;

constexpr char kServiceFile[] = "leaf/agleader/v1/agleader_credentials.proto";

template <typename Version>
class ReflectionServiceTest : public ::testing::Test {
 protected:
  using Request = typename Version::Request;
  using Response = typename Version::Response;

  void SetUp() override {
    absl::StatusOr<std::unique_ptr<ServerReflection>> reflection = ServerReflection::FromEmbedded();
    ASSERT_TRUE(reflection.ok()) << reflection.status();
    reflection_ = *std::move(reflection);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    reflection_->RegisterOn(&builder);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = Version::Service::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                          grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  // Sends `requests` on one stream; returns one response per request.
  std::vector<Response> Ask(const std::vector<Request>& requests) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto stream = stub_->ServerReflectionInfo(&context);
    std::vector<Response> responses;
    for (const Request& request : requests) {
      EXPECT_TRUE(stream->Write(request));
      Response response;
      EXPECT_TRUE(stream->Read(&response));
      responses.push_back(response);
    }
    stream->WritesDone();
    grpc::Status status = stream->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    return responses;
  }

  Response Ask(const Request& request) { return Ask(std::vector<Request>{request})[0]; }

  Request Symbol(const std::string& symbol) {
    Request request;
    request.set_file_containing_symbol(symbol);
    return request;
  }

  static std::vector<FileDescriptorProto> Files(const Response& response) {
    std::vector<FileDescriptorProto> files;
    for (const std::string& bytes : response.file_descriptor_response().file_descriptor_proto()) {
      files.emplace_back();
      EXPECT_TRUE(files.back().ParseFromString(bytes));
    }
    return files;
  }

  std::unique_ptr<ServerReflection> reflection_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<typename Version::Service::Stub> stub_;
};

struct V1 {
  using Service = grpc::reflection::v1::ServerReflection;
  using Request = grpc::reflection::v1::ServerReflectionRequest;
  using Response = grpc::reflection::v1::ServerReflectionResponse;
};
struct V1Alpha {
  using Service = grpc::reflection::v1alpha::ServerReflection;
  using Request = grpc::reflection::v1alpha::ServerReflectionRequest;
  using Response = grpc::reflection::v1alpha::ServerReflectionResponse;
};
using Versions = ::testing::Types<V1, V1Alpha>;
TYPED_TEST_SUITE(ReflectionServiceTest, Versions);

TYPED_TEST(ReflectionServiceTest, ListsEveryServedService) {
  typename TestFixture::Request request;
  request.set_host("localhost");
  request.set_list_services("");
  const auto response = this->Ask(request);
  EXPECT_EQ(response.valid_host(), "localhost");
  EXPECT_TRUE(response.original_request().has_list_services());
  std::vector<std::string> names;
  for (const auto& service : response.list_services_response().service()) {
    names.push_back(service.name());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"grpc.health.v1.Health",
                                             "grpc.reflection.v1.ServerReflection",
                                             "grpc.reflection.v1alpha.ServerReflection",
                                             "leaf.agleader.v1.AgLeaderCredentials"}));
}

// What `grpcurl describe` prints comes from source_code_info: every comment
// line of the .proto must be in it.
TYPED_TEST(ReflectionServiceTest, ServiceFileCarriesEveryCommentOfTheProto) {
  const auto files = this->Files(this->Ask(this->Symbol("leaf.agleader.v1.AgLeaderCredentials")));
  ASSERT_FALSE(files.empty());
  const FileDescriptorProto& file = files[0];
  EXPECT_EQ(file.name(), kServiceFile);
  std::string comments;
  for (const auto& location : file.source_code_info().location()) {
    comments += location.leading_comments() + location.trailing_comments();
    for (const std::string& detached : location.leading_detached_comments()) comments += detached;
  }
  EXPECT_TRUE(absl::StrContains(comments, " Manages the AgLeader credentials of Leaf users."));
  EXPECT_TRUE(
      absl::StrContains(comments, " Returns the AgLeader credentials attached to a Leaf user."));
  EXPECT_TRUE(absl::StrContains(comments, " The AgLeaderCredentials service: attach, inspect"));
  EXPECT_TRUE(absl::StrContains(comments, " How much of the stored credentials a response shows."));

  std::ifstream in(std::string("proto/") + kServiceFile);
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  int checked = 0;
  for (absl::string_view line : absl::StrSplit(text.str(), '\n')) {
    line = absl::StripLeadingAsciiWhitespace(line);
    if (!absl::ConsumePrefix(&line, "//") || line.empty()) continue;
    EXPECT_TRUE(absl::StrContains(comments, line)) << "comment missing: " << line;
    ++checked;
  }
  EXPECT_GT(checked, 50);
}

TYPED_TEST(ReflectionServiceTest, FieldsHaveTheirJsonNames) {
  const auto files = this->Files(this->Ask(this->Symbol("leaf.agleader.v1.Credentials")));
  ASSERT_FALSE(files.empty());
  std::map<std::string, std::string> json_names;
  for (const auto& message : files[0].message_type()) {
    if (message.name() != "Credentials") continue;
    for (const auto& field : message.field()) json_names[field.name()] = field.json_name();
  }
  EXPECT_EQ(json_names["leaf_user_id"], "leafUserId");
  EXPECT_EQ(json_names["create_time"], "createTime");
}

TYPED_TEST(ReflectionServiceTest, SendsEachDependencyOncePerStream) {
  const auto responses =
      this->Ask({this->Symbol("leaf.agleader.v1.GetCredentialsRequest"),
                 this->Symbol("leaf.agleader.v1.AgLeaderCredentials.GetCredentials")});
  std::vector<std::string> first, second;
  for (const auto& file : this->Files(responses[0])) first.push_back(file.name());
  for (const auto& file : this->Files(responses[1])) second.push_back(file.name());
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first[0], kServiceFile);
  EXPECT_NE(std::find(first.begin(), first.end(), "google/protobuf/timestamp.proto"), first.end());
  EXPECT_NE(std::find(first.begin(), first.end(), "google/protobuf/empty.proto"), first.end());
  EXPECT_EQ(second, std::vector<std::string>{kServiceFile});
}

TYPED_TEST(ReflectionServiceTest, DescribesHealthAndTheErrorDetails) {
  auto files = this->Files(this->Ask(this->Symbol("grpc.health.v1.Health")));
  ASSERT_FALSE(files.empty());
  EXPECT_EQ(files[0].name(), "grpc/health/v1/health.proto");
  files = this->Files(this->Ask(this->Symbol("google.rpc.ErrorInfo")));
  ASSERT_FALSE(files.empty());
  EXPECT_EQ(files[0].name(), "google/rpc/error_details.proto");
  EXPECT_EQ(files[0].message_type(0).field(0).json_name().empty(), false);
  files = this->Files(this->Ask(this->Symbol("grpc.reflection.v1.ServerReflection")));
  ASSERT_FALSE(files.empty());
  EXPECT_EQ(files[0].name(), "grpc/reflection/v1/reflection.proto");

  typename TestFixture::Request by_name;
  by_name.set_file_by_filename("google/rpc/status.proto");
  files = this->Files(this->Ask(by_name));
  ASSERT_EQ(files.size(), 2u);  // and google/protobuf/any.proto
  EXPECT_EQ(files[0].name(), "google/rpc/status.proto");
  EXPECT_EQ(files[1].name(), "google/protobuf/any.proto");
}

TYPED_TEST(ReflectionServiceTest, UnknownNamesAreNotFoundAndTheStreamGoesOn) {
  typename TestFixture::Request file, extension, numbers, unknown_type, nothing;
  file.set_file_by_filename("no/such.proto");
  extension.mutable_file_containing_extension()->set_containing_type(
      "leaf.agleader.v1.Credentials");
  extension.mutable_file_containing_extension()->set_extension_number(1000);
  numbers.set_all_extension_numbers_of_type("leaf.agleader.v1.Credentials");
  unknown_type.set_all_extension_numbers_of_type("no.Such");
  const auto responses = this->Ask(
      {this->Symbol("leaf.agleader.v1.NoSuch"), file, extension, numbers, unknown_type, nothing});
  const int kNotFound = static_cast<int>(grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(responses[0].error_response().error_code(), kNotFound);
  EXPECT_EQ(responses[0].error_response().error_message(),
            "Symbol not found: leaf.agleader.v1.NoSuch");
  EXPECT_EQ(responses[1].error_response().error_code(), kNotFound);
  EXPECT_EQ(responses[2].error_response().error_code(), kNotFound);
  EXPECT_EQ(responses[3].all_extension_numbers_response().base_type_name(),
            "leaf.agleader.v1.Credentials");
  EXPECT_EQ(responses[3].all_extension_numbers_response().extension_number_size(), 0);
  EXPECT_EQ(responses[4].error_response().error_code(), kNotFound);
  EXPECT_EQ(responses[5].error_response().error_code(),
            static_cast<int>(grpc::StatusCode::UNIMPLEMENTED));
}

}  // namespace
}  // namespace leafsvc::reflection
