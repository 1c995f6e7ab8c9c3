// The error report of a failed call, and the hints for TLS and API key
// trouble.
#include "client/error_output.h"

#include <string>

#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "tests/client/test_util.h"

namespace leafsvc::client {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class ErrorOutputTest : public ClientTest {};

TEST_F(ErrorOutputTest, FormatErrorWithAllDetails) {
  grpc::Status status =
      StatusWithDetails(grpc::StatusCode::RESOURCE_EXHAUSTED, "Leaf is rate limiting", true, true);
  EXPECT_EQ(FormatError(status),
            "error: RESOURCE_EXHAUSTED (8): Leaf is rate limiting\n"
            "reason: LEAF_RATE_LIMITED\n"
            "metadata: attempt=2, leaf_http_status=429, "
            "leaf_message=Too many requests\n"
            "  field leaf_user_id: must be a UUID\n"
            "  field refresh_token: must not be empty\n"
            "retry after: 3s\n");
}

TEST_F(ErrorOutputTest, FormatErrorWithoutDetails) {
  EXPECT_EQ(FormatError(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")),
            "error: UNAVAILABLE (14): down\n");
  EXPECT_EQ(FormatError(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "")),
            "error: DEADLINE_EXCEEDED (4): (no message)\n");
  EXPECT_EQ(FormatError(grpc::Status(grpc::StatusCode::INTERNAL, "x", "\xff\xff")),
            "error: INTERNAL (13): x\ndetails: (unreadable)\n");
}

TEST_F(ErrorOutputTest, FormatErrorFractionalRetryDelay) {
  google::rpc::Status proto;
  google::rpc::RetryInfo ri;
  ri.mutable_retry_delay()->set_seconds(1);
  ri.mutable_retry_delay()->set_nanos(500000000);
  proto.add_details()->PackFrom(ri);
  grpc::Status status(grpc::StatusCode::UNAVAILABLE, "busy", proto.SerializeAsString());
  EXPECT_THAT(FormatError(status), HasSubstr("retry after: 1.5s\n"));
}

TEST_F(ErrorOutputTest, StatusCodeNames) {
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::NOT_FOUND), "NOT_FOUND");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::PERMISSION_DENIED), "PERMISSION_DENIED");
}

TEST_F(ErrorOutputTest, HintForUnavailableOnlyOverTls) {
  grpc::Status down(grpc::StatusCode::UNAVAILABLE, "failed to connect");
  ClientOptions options;
  EXPECT_THAT(FormatHint(down, options), IsEmpty());
  options.tls.enabled = true;
  EXPECT_THAT(FormatHint(down, options), HasSubstr("--ca_file"));
  EXPECT_THAT(FormatHint(down, options), HasSubstr("--server_name"));
  EXPECT_THAT(FormatHint(down, options), HasSubstr("--cert_file"));
  EXPECT_THAT(FormatHint(grpc::Status(grpc::StatusCode::NOT_FOUND, "x"), options), IsEmpty());
}

TEST_F(ErrorOutputTest, HintForTheListenersApiKeyRefusal) {
  grpc::Status refused(grpc::StatusCode::UNAUTHENTICATED, "this server needs an API key");
  ClientOptions options;
  EXPECT_THAT(FormatHint(refused, options), HasSubstr("--api_key_file"));
  options.api_key = Secret(kApiKey);
  EXPECT_THAT(FormatHint(refused, options), HasSubstr("refused the API key"));
  EXPECT_THAT(FormatHint(refused, options), Not(HasSubstr(kApiKey)));
  // Leaf's refusals carry details (ErrorInfo): they are not about the key.
  EXPECT_THAT(
      FormatHint(StatusWithDetails(grpc::StatusCode::UNAUTHENTICATED, "Leaf refused", false, false),
                 options),
      IsEmpty());
}

}  // namespace
}  // namespace leafsvc::client
