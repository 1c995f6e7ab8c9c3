#include "server/http/http_client.h"

#include <string>

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

TEST(WipeRequestTest, ZeroesTheBuffersOfEverySecretBearingField) {
  HttpRequest request;
  request.method = "POST";
  request.url = "https://leaf.example/api/users/123?token=query-secret-0000000001";
  request.headers = {{"Authorization", "Bearer bearer-secret-000000000000001"}};
  request.body = std::string(200, 'b');  // a private key, say
  const char* body = request.body.data();
  const std::size_t body_capacity = request.body.capacity();
  const char* url = request.url.data();
  const std::size_t url_size = request.url.size();
  WipeRequest(request);
  EXPECT_TRUE(request.body.empty());
  EXPECT_TRUE(request.url.empty());
  EXPECT_TRUE(request.headers.empty());
  // The buffers are kept (so this reads live memory) and hold zeros only.
  EXPECT_EQ(request.body.data(), body);
  EXPECT_EQ(std::string(body, body_capacity), std::string(body_capacity, '\0'));
  EXPECT_EQ(std::string(url, url_size), std::string(url_size, '\0'));
}

}  // namespace
}  // namespace leafsvc::http
