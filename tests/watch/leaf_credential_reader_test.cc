#include "server/watch/leaf_credential_reader.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "server/budget/budgeted_http_client.h"
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
    EXPECT_NE(fetch(::leafsvc::testing::kTestUser, Source::kPoll,
                    [&](Observation o) { got = std::move(o); }),
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

// Alert-prompted reads go ahead of routine polls in the Leaf budget;
// initial and scheduled reads are polls. Before, every read had priority 0
// (a caller's).
TEST_F(LeafCredentialReaderTest, EachReadCarriesTheBudgetClassOfItsSource) {
  Poller::Fetch fetch = reader_.AsFetch();
  for (Source source : {Source::kAlert, Source::kInitial, Source::kPoll}) {
    fetch(::leafsvc::testing::kTestUser, source, [](Observation) {});
    ASSERT_TRUE(http_.Respond(200, ::leafsvc::testing::kTestCredentialsJson));
  }
  const std::vector<http::HttpRequest> requests = http_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].priority, budget::PriorityOf(budget::RequestClass::kPrompted));
  EXPECT_EQ(requests[1].priority, budget::PriorityOf(budget::RequestClass::kPoll));
  EXPECT_EQ(requests[2].priority, budget::PriorityOf(budget::RequestClass::kPoll));
  EXPECT_NE(budget::PriorityOf(budget::RequestClass::kPoll), 0);
}

TEST_F(LeafCredentialReaderTest, ReadsAListingPageAsAPoll) {
  std::optional<absl::StatusOr<leaf::LeafUsersPage>> got;
  Sweeper::SweepFetch fetch = reader_.AsSweepFetch();
  const absl::Time deadline = absl::Now() + absl::Seconds(3);
  fetch(2, 500, deadline, [&](absl::StatusOr<leaf::LeafUsersPage> page) { got = std::move(page); });
  http::HttpHeaders headers;
  headers.emplace_back("x-total-count", "1001");
  const std::string body = std::string(R"([{"id":"u1","agLeaderCredentials":)") +
                           ::leafsvc::testing::kTestCredentialsJson + "}]";
  ASSERT_TRUE(http_.Respond(200, body, headers));
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->ok()) << got->status();
  ASSERT_EQ((*got)->users.size(), 1u);
  EXPECT_EQ((*got)->users[0].credentials->id, "c1");
  EXPECT_EQ((*got)->total_count, 1001);
  const http::HttpRequest req = http_.requests().at(0);
  EXPECT_EQ(req.method, "GET");
  EXPECT_NE(req.url.find("page=2"), std::string::npos) << req.url;
  EXPECT_NE(req.url.find("size=500"), std::string::npos) << req.url;
  EXPECT_EQ(req.priority, budget::PriorityOf(budget::RequestClass::kPoll));
  EXPECT_EQ(req.deadline, deadline);  // sooner than the upstream timeout
}

}  // namespace
}  // namespace leafsvc::watch
