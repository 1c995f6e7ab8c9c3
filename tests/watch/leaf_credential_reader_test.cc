#include "server/watch/leaf_credential_reader.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "server/providers/agleader/agleader_spec.h"
#include "tests/leaf/fake_http_client.h"
#include "tests/leaf/test_token_sources.h"

namespace leafsvc::watch {
namespace {

using ::leafsvc::testing::FakeHttpClient;

class LeafCredentialReaderTest : public ::testing::Test {
 protected:
  LeafCredentialReaderTest()
      : leaf_(&http_, &tokens_, leaf::LeafEndpoints("http://leaf", providers::AgLeaderSpec())),
        reader_(&leaf_, absl::Seconds(7)) {}

  std::optional<Observation> ReadAnswered(int status, std::string body = "") {
    std::optional<Observation> got;
    Poller::Fetch fetch = reader_.AsFetch();
    EXPECT_NE(fetch(::leafsvc::testing::kTestUser, [&](Observation o) { got = std::move(o); }),
              nullptr);
    EXPECT_TRUE(http_.Respond(status, std::move(body)));
    return got;
  }

  FakeHttpClient http_;
  ::leafsvc::testing::CountingTokenSource tokens_;
  leaf::LeafClient leaf_;
  LeafCredentialReader reader_;
};

TEST_F(LeafCredentialReaderTest, ReadsTheUsersCredentialsWithinTheTimeout) {
  const absl::Time before = absl::Now();
  std::optional<Observation> o = ReadAnswered(200, ::leafsvc::testing::kTestCredentialsJson);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->kind, Observation::Kind::kPresent);
  EXPECT_EQ(o->credentials.id, "c1");
  EXPECT_EQ(o->credentials.status, "OK");
  const http::HttpRequest req = http_.requests().at(0);
  EXPECT_EQ(req.method, "GET");
  EXPECT_NE(req.url.find(::leafsvc::testing::kTestUser), std::string::npos) << req.url;
  // The upstream timeout bounds each read (the deadline the transfer got).
  EXPECT_GE(req.deadline, before + absl::Seconds(7));
  EXPECT_LE(req.deadline, absl::Now() + absl::Seconds(7));
}

TEST_F(LeafCredentialReaderTest, NoCredentialsIsAbsent) {
  std::optional<Observation> o = ReadAnswered(404, R"({"title":"Not Found","status":404})");
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->kind, Observation::Kind::kAbsent);
}

TEST_F(LeafCredentialReaderTest, AFailedReadIsAnError) {
  std::optional<Observation> o = ReadAnswered(400, R"({"title":"Bad Request"})");
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->kind, Observation::Kind::kError);
  EXPECT_FALSE(o->error.ok());
}

}  // namespace
}  // namespace leafsvc::watch
