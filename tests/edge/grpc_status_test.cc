#include "server/edge/grpc_status.h"

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "server/errors/status_details.h"

namespace leafsvc {
namespace {

google::rpc::Status Details(const grpc::Status& st) {
  google::rpc::Status proto;
  EXPECT_TRUE(proto.ParseFromString(st.error_details()));
  return proto;
}

TEST(GrpcStatusTest, OkStaysOk) { EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok()); }

TEST(GrpcStatusTest, CarriesCodeMessageAndErrorInfo) {
  StatusDetails d;
  d.reason = "CREDENTIALS_NOT_FOUND";
  d.metadata = {{"leaf_http_status", "404"}};
  grpc::Status st = ToGrpcStatus(MakeStatus(absl::StatusCode::kNotFound, "none", d));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(st.error_message(), "none");
  google::rpc::Status proto = Details(st);
  EXPECT_EQ(proto.code(), 5);
  ASSERT_EQ(proto.details_size(), 1);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(proto.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "CREDENTIALS_NOT_FOUND");
  EXPECT_EQ(info.domain(), "leaf.agleader.v1");
  EXPECT_EQ(info.metadata().at("leaf_http_status"), "404");
}

TEST(GrpcStatusTest, EveryErrorGetsAReason) {
  google::rpc::Status proto = Details(ToGrpcStatus(absl::InternalError("boom")));
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(proto.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "INTERNAL");
}

TEST(GrpcStatusTest, BadRequestAndRetryInfo) {
  StatusDetails d;
  d.reason = "R";
  d.field_violations = {{"leaf_user_id", "required"}};
  d.retry_delay = absl::Milliseconds(2500);
  google::rpc::Status proto =
      Details(ToGrpcStatus(MakeStatus(absl::StatusCode::kInvalidArgument, "bad", d)));
  ASSERT_EQ(proto.details_size(), 3);
  google::rpc::BadRequest bad;
  ASSERT_TRUE(proto.details(1).UnpackTo(&bad));
  EXPECT_EQ(bad.field_violations(0).field(), "leaf_user_id");
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(proto.details(2).UnpackTo(&retry));
  EXPECT_EQ(retry.retry_delay().seconds(), 2);
  EXPECT_EQ(retry.retry_delay().nanos(), 500000000);
}

}  // namespace
}  // namespace leafsvc
