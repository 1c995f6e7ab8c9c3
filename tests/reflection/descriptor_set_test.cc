#include "server/reflection/descriptor_set.h"

#include <google/protobuf/descriptor.pb.h>
#include <gtest/gtest.h>

namespace leafsvc::reflection {
namespace {

TEST(DescriptorSetTest, EmbeddedSetHoldsTheServedServicesAndTheErrorDetails) {
  absl::StatusOr<const DescriptorSet*> set = DescriptorSet::Embedded();
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(
      (*set)->service_names(),
      (std::vector<std::string>{"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
                                "grpc.reflection.v1alpha.ServerReflection",
                                "leaf.agleader.v1.AgLeaderCredentials"}));
  for (const char* type : {"google.rpc.ErrorInfo", "google.rpc.BadRequest", "google.rpc.RetryInfo",
                           "google.rpc.Status", "google.protobuf.Timestamp"}) {
    EXPECT_NE((*set)->pool().FindMessageTypeByName(type), nullptr) << type;
  }
  EXPECT_EQ(DescriptorSet::Embedded().value(), *set);  // parsed once
}

TEST(DescriptorSetTest, KeepsTheFilesAsProtocWroteThem) {
  const DescriptorSet& set = **DescriptorSet::Embedded();
  const std::string* bytes = set.SerializedFile("leaf/agleader/v1/agleader_credentials.proto");
  ASSERT_NE(bytes, nullptr);
  google::protobuf::FileDescriptorProto file;
  ASSERT_TRUE(file.ParseFromString(*bytes));
  EXPECT_GT(file.source_code_info().location_size(), 50);
  EXPECT_EQ(set.SerializedFile("no/such.proto"), nullptr);
}

TEST(DescriptorSetTest, RejectsBytesThatAreNoSet) {
  EXPECT_EQ(DescriptorSet::Parse("\xff\xff\xff").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(DescriptorSetTest, RejectsAFileWhoseDependencyIsMissing) {
  google::protobuf::FileDescriptorSet set;
  google::protobuf::FileDescriptorProto* file = set.add_file();
  file->set_name("a.proto");
  file->add_dependency("missing.proto");
  absl::StatusOr<std::unique_ptr<DescriptorSet>> parsed =
      DescriptorSet::Parse(set.SerializeAsString());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find("a.proto"), std::string::npos);
}

}  // namespace
}  // namespace leafsvc::reflection
