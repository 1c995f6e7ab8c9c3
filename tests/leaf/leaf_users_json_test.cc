#include "server/leaf/leaf_users_json.h"

#include <string>

#include "gtest/gtest.h"
#include "server/providers/agleader/agleader_spec.h"
#include "tests/leaf/test_credentials.h"

namespace leafsvc::leaf {
namespace {

using ::leafsvc::testing::FieldOf;

absl::StatusOr<std::vector<LeafUser>> Decode(absl::string_view json) {
  return DecodeUsers(json, providers::AgLeaderSpec());
}

constexpr char kUsers[] = R"([
  {"id":"u1","name":"A","email":"a@example.com","johnDeereCredentials":{"id":"jd","clientKey":"x"},
   "agLeaderCredentials":{"id":"c1","status":"UNAUTHENTICATED","refreshToken":"rt-1",
                          "publicKey":"pk-1","privateKey":"sk-1"}},
  {"id":"u2","agLeaderCredentials":null},
  {"id":"u3","agLeaderCredentials":[]},
  {"id":"u4","agLeaderCredentials":[{"id":"c4","status":"OK"}]},
  {"id":"u5"}
])";

TEST(LeafUsersJsonTest, KeepsTheIdAndTheProvidersEmbeddedCredentials) {
  auto users = Decode(kUsers);
  ASSERT_TRUE(users.ok()) << users.status();
  ASSERT_EQ(users->size(), 5u);
  EXPECT_EQ((*users)[0].id, "u1");
  ASSERT_TRUE((*users)[0].credentials.has_value());
  EXPECT_EQ((*users)[0].credentials->id, "c1");
  EXPECT_EQ((*users)[0].credentials->status, "UNAUTHENTICATED");
  EXPECT_EQ(FieldOf(*(*users)[0].credentials, "refreshToken"), "rt-1");
  EXPECT_EQ(FieldOf(*(*users)[0].credentials, "publicKey"), "pk-1");
  // Absent, null and an empty array all mean none; an array holds one.
  EXPECT_FALSE((*users)[1].credentials.has_value());
  EXPECT_FALSE((*users)[2].credentials.has_value());
  ASSERT_TRUE((*users)[3].credentials.has_value());
  EXPECT_EQ((*users)[3].credentials->id, "c4");
  EXPECT_FALSE((*users)[4].credentials.has_value());
  // Null and an empty array say "none"; a missing member says nothing.
  EXPECT_TRUE((*users)[1].credentials_null);
  EXPECT_TRUE((*users)[2].credentials_null);
  EXPECT_FALSE((*users)[0].credentials_null);
  EXPECT_FALSE((*users)[4].credentials_null);
}

TEST(LeafUsersJsonTest, AcceptsSpringsPageWrapper) {
  auto users = Decode(R"({"content":[{"id":"u1"}],"totalElements":1})");
  ASSERT_TRUE(users.ok()) << users.status();
  ASSERT_EQ(users->size(), 1u);
  EXPECT_EQ((*users)[0].id, "u1");
}

// Another provider's member is read by its spec's name; AgLeader's member
// is then just another provider's credentials, ignored.
TEST(LeafUsersJsonTest, TheEmbeddedMemberIsTheSpecs) {
  providers::ProviderSpec spec;
  spec.user_member = "testlandCredentials";
  spec.fields = {{"clientSecret", "refresh_token", true, true}};
  auto users =
      DecodeUsers(R"([{"id":"u1","agLeaderCredentials":{"id":"ag"},)"
                  R"("testlandCredentials":{"id":"t1","status":"OK","clientSecret":"cs"}},)"
                  R"({"id":"u2","agLeaderCredentials":{"id":"ag2"}}])",
                  spec);
  ASSERT_TRUE(users.ok()) << users.status();
  ASSERT_TRUE((*users)[0].credentials.has_value());
  EXPECT_EQ((*users)[0].credentials->id, "t1");
  EXPECT_EQ(FieldOf(*(*users)[0].credentials, "clientSecret"), "cs");
  EXPECT_FALSE((*users)[1].credentials.has_value());

  auto bad = DecodeUsers(R"([{"id":"u1","testlandCredentials":[{"id":"a"},{"id":"b"}]}])", spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "Leaf's users response: element 0: more than one testlandCredentials (Leaf holds one)");
}

TEST(LeafUsersJsonTest, ErrorsNameTheElementAndNeverQuoteTheBody) {
  struct Case {
    const char* body;
    const char* message;
  } cases[] = {
      {R"({"id":"u1"})", "Leaf's users response: not a JSON array"},
      {R"([{"agLeaderCredentials":{"id":"c","refreshToken":"SECRET-MARKER"}}])",
       "Leaf's users response: element 0: field \"id\" is missing or not a string"},
      {R"([{"id":"u1"},"SECRET-MARKER"])", "Leaf's users response: element 1 is not a JSON object"},
      {R"([{"id":"u1","agLeaderCredentials":[{"id":"a"},{"id":"b","privateKey":"SECRET-MARKER"}]}])",
       "Leaf's users response: element 0: more than one agLeaderCredentials (Leaf holds one)"},
      {R"([{"id":"u1","agLeaderCredentials":"SECRET-MARKER"}])",
       "Leaf's users response: element 0: agLeaderCredentials is not an object"},
      {R"([{"id":"u1","agLeaderCredentials":{"id":"c","refreshToken":["SECRET-MARKER"]}}])",
       "Leaf's users response: element 0: Leaf's credentials response: field \"refreshToken\" is "
       "not a string"},
      {R"([{"id":"u1","agLeaderCredentials":{"status":"OK","privateKey":"SECRET-MARKER"}}])",
       "Leaf's users response: element 0: Leaf's credentials response: field \"id\" is missing"},
  };
  for (const Case& c : cases) {
    auto users = Decode(c.body);
    ASSERT_FALSE(users.ok()) << c.body;
    EXPECT_EQ(users.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(users.status().message(), c.message) << c.body;
    EXPECT_EQ(users.status().message().find("SECRET-MARKER"), absl::string_view::npos);
  }
  EXPECT_FALSE(Decode("[").ok());
  EXPECT_FALSE(Decode("").ok());
}

TEST(LeafUsersJsonTest, ParseTotalCount) {
  EXPECT_EQ(ParseTotalCount("42"), 42);
  EXPECT_EQ(ParseTotalCount(" 7 "), 7);
  EXPECT_EQ(ParseTotalCount("0"), 0);
  EXPECT_FALSE(ParseTotalCount("").has_value());
  EXPECT_FALSE(ParseTotalCount("-1").has_value());
  EXPECT_FALSE(ParseTotalCount("+1").has_value());
  EXPECT_FALSE(ParseTotalCount("1e3").has_value());
  EXPECT_FALSE(ParseTotalCount("99999999999999999999999").has_value());
}

}  // namespace
}  // namespace leafsvc::leaf
