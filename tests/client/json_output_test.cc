// --json output: proto3 JSON with lowerCamelCase names, like grpcurl.
#include "client/json_output.h"

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/empty.pb.h"
#include "gtest/gtest.h"
#include "tests/client/test_util.h"

namespace leafsvc::client {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class JsonOutputTest : public ClientTest {};

TEST_F(JsonOutputTest, FormatJsonUsesLowerCamelCase) {
  absl::StatusOr<std::string> json = FormatJson(SampleCredentials(false));
  ASSERT_TRUE(json.ok());
  EXPECT_THAT(*json, HasSubstr("\"leafUserId\""));
  EXPECT_THAT(*json, HasSubstr("\"refreshTokenHint\""));
  EXPECT_THAT(*json, HasSubstr("\"status\": \"CREDENTIAL_STATUS_OK\""));
  EXPECT_THAT(*json, HasSubstr("\"createTime\": \"2023-04-21T12:16:27.997586Z\""));
  EXPECT_THAT(*json, Not(HasSubstr("leaf_user_id")));
  EXPECT_EQ(json->back(), '\n');

  EXPECT_EQ(*FormatJson(google::protobuf::Empty()), "{}\n");
}

}  // namespace
}  // namespace leafsvc::client
