// The integration tests run on production's defaults: the harness's server
// configuration equals what the flag table gives a deployment, apart from
// the fields it deliberately sets. (They once ran with max_connection_age 0
// while production used 30m.)
#include "tests/integration/harness.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/config/config.h"
#include "tests/config/config_fields.h"

namespace leafsvc::testing {
namespace {

TEST(HarnessTest, RunsOnTheFlagTablesDefaults) {
  const std::string url = "http://127.0.0.1:1";
  const std::string token = absl::StrCat("--leaf_token=", kStaticToken);
  const std::string leaf = "--leaf_api_url=" + url;
  const char* argv[] = {"server", token.c_str(), leaf.c_str()};
  absl::StatusOr<ParsedConfig> production = ParseServerConfig(3, const_cast<char**>(argv));
  ASSERT_TRUE(production.ok()) << production.status();
  const ServerConfig harness = Harness::Config(url);
  EXPECT_THAT(DifferingFields(harness, production->config),
              ::testing::UnorderedElementsAre("listen", "upstream_timeout", "page_token_key",
                                              "leaf_budget.requests_per_minute",
                                              "leaf_budget.burst"));
  EXPECT_EQ(harness.max_connection_age, absl::Minutes(30));
  EXPECT_EQ(harness.max_connection_age, production->config.max_connection_age);
}

TEST(HarnessTest, TheStackStartsAndAnswersOnThoseDefaults) {
  auto h = Harness::Start();
  ASSERT_NE(h, nullptr);
  h->Create(kUserA);
  ::leaf::agleader::v1::GetCredentialsRequest req;
  req.set_leaf_user_id(kUserA);
  ::leaf::agleader::v1::Credentials out;
  grpc::Status st = h->stub().GetCredentials(Harness::Context().get(), req, &out);
  EXPECT_TRUE(st.ok()) << st.error_message();
}

}  // namespace
}  // namespace leafsvc::testing
