// LeafClient::ListUsers (server/leaf/leaf_users.cc): the request it sends
// and what it makes of Leaf's answer.
#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "server/errors/status_details.h"
#include "server/leaf/leaf_client.h"
#include "server/providers/agleader/agleader_spec.h"
#include "tests/leaf/fake_http_client.h"
#include "tests/leaf/test_credentials.h"
#include "tests/leaf/test_token_sources.h"

namespace leafsvc::leaf {
namespace {

using ::leafsvc::testing::CountingTokenSource;
using ::leafsvc::testing::FakeHttpClient;
using ::leafsvc::testing::FieldOf;
using ::leafsvc::testing::HeaderOf;

class LeafUsersTest : public ::testing::Test {
 protected:
  LeafUsersTest()
      : client_(&http_, &tokens_, LeafEndpoints("http://leaf", providers::AgLeaderSpec())) {}

  absl::Time Deadline() { return absl::Now() + absl::Seconds(30); }

  FakeHttpClient http_;
  CountingTokenSource tokens_;
  LeafClient client_;
};

TEST_F(LeafUsersTest, GetsThePageWithBearerAndDecodesWithTotalCount) {
  std::optional<absl::StatusOr<LeafUsersPage>> got;
  client_.ListUsers(2, 50, Deadline(), [&](auto r) { got = std::move(r); });
  ASSERT_EQ(http_.requests().size(), 1u);
  const http::HttpRequest req = http_.requests()[0];
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.url, "http://leaf/services/usermanagement/api/users?page=2&size=50");
  EXPECT_EQ(HeaderOf(req, "Authorization"), "Bearer token-1");
  ASSERT_TRUE(http_.Respond(
      200,
      R"([{"id":"u1","agLeaderCredentials":{"id":"c1","status":"OK","refreshToken":"rt"}},)"
      R"({"id":"u2"}])",
      {{"x-total-count", "102"}}));
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->ok()) << got->status();
  ASSERT_EQ((*got)->users.size(), 2u);
  ASSERT_TRUE((*got)->users[0].credentials.has_value());
  EXPECT_EQ(FieldOf(*(*got)->users[0].credentials, "refreshToken"), "rt");
  EXPECT_FALSE((*got)->users[1].credentials.has_value());
  EXPECT_EQ((*got)->total_count, 102);
}

TEST_F(LeafUsersTest, AMissingOrBadTotalCountIsUnknown) {
  std::optional<absl::StatusOr<LeafUsersPage>> got;
  client_.ListUsers(0, 10, Deadline(), [&](auto r) { got = std::move(r); });
  ASSERT_TRUE(http_.Respond(200, "[]", {{"x-total-count", "many"}}));
  ASSERT_TRUE(got.has_value() && got->ok());
  EXPECT_TRUE((*got)->users.empty());
  EXPECT_FALSE((*got)->total_count.has_value());
}

TEST_F(LeafUsersTest, AnUnreadableBodyIsABadResponseThatQuotesNoSecret) {
  std::optional<absl::StatusOr<LeafUsersPage>> got;
  client_.ListUsers(0, 10, Deadline(), [&](auto r) { got = std::move(r); });
  ASSERT_TRUE(http_.Respond(200, R"([{"agLeaderCredentials":{"refreshToken":"SECRET-MARKER"}}])"));
  ASSERT_TRUE(got.has_value());
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(GetStatusDetails(got->status()).reason, "LEAF_BAD_RESPONSE");
  EXPECT_NE(got->status().message().find("while listing Leaf users"), absl::string_view::npos);
  EXPECT_EQ(got->status().message().find("SECRET-MARKER"), absl::string_view::npos);
}

TEST_F(LeafUsersTest, LeafErrorsAreMapped) {
  std::optional<absl::StatusOr<LeafUsersPage>> got;
  client_.ListUsers(0, 10, Deadline(), [&](auto r) { got = std::move(r); });
  ASSERT_TRUE(http_.Respond(403, R"({"title":"Forbidden"})"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(GetStatusDetails(got->status()).reason, "LEAF_PERMISSION_DENIED");
}

// The client decodes users by its endpoints' provider.
TEST(LeafUsersProviderTest, EmbeddedCredentialsAreTheClientsProviders) {
  providers::ProviderSpec spec;
  spec.display_name = "Testland";
  spec.path_segment = "testland-credentials";
  spec.user_member = "testlandCredentials";
  spec.fields = {{"clientSecret", "refresh_token", true, true}};
  FakeHttpClient http;
  CountingTokenSource tokens;
  LeafClient client(&http, &tokens, LeafEndpoints("http://leaf", spec));
  std::optional<absl::StatusOr<LeafUsersPage>> got;
  client.ListUsers(0, 10, absl::Now() + absl::Seconds(30), [&](auto r) { got = std::move(r); });
  ASSERT_TRUE(http.Respond(
      200, R"([{"id":"u1","agLeaderCredentials":{"id":"ag"},"testlandCredentials":{"id":"t1",)"
           R"("clientSecret":"cs"}}])"));
  ASSERT_TRUE(got.has_value() && got->ok()) << got->status();
  ASSERT_TRUE((*got)->users[0].credentials.has_value());
  EXPECT_EQ((*got)->users[0].credentials->id, "t1");
  EXPECT_EQ(FieldOf(*(*got)->users[0].credentials, "clientSecret"), "cs");
}

}  // namespace
}  // namespace leafsvc::leaf
