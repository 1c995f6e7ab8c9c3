#include "server/http/http_client.h"

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "gtest/gtest.h"

namespace leafsvc::http {
namespace {

TEST(HttpResponseTest, HeaderReturnsFirstMatchOrEmpty) {
  HttpResponse response;
  response.headers = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
  EXPECT_EQ(response.Header("a"), "1");
  EXPECT_EQ(response.Header("b"), "2");
  EXPECT_EQ(response.Header("c"), "");
}

TEST(MaybeSentTest, ReadsPayload) {
  EXPECT_FALSE(MaybeSent(absl::OkStatus()));
  absl::Status status = absl::UnavailableError("x");
  EXPECT_FALSE(MaybeSent(status));
  status.SetPayload(kMaybeSentPayload, absl::Cord("true"));
  EXPECT_TRUE(MaybeSent(status));
}

}  // namespace
}  // namespace leafsvc::http
