// Tests of GET /users (routes_users.cc) and seeding (seed.cc, POST
// /_emulator/seed) through real HTTP.
#include <httplib.h>

#include <set>
#include <string>

#include "absl/strings/match.h"
#include "emulator/leaf_emulator.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/emulator/emulator_fixture.h"

namespace leafemu {
namespace {

using namespace emutest;  // NOLINT: the shared fixture's constants and helpers

using UserRoutesTest = EmulatorTest;

constexpr char kUsersPath[] = "/services/usermanagement/api/users";

TEST_F(UserRoutesTest, PagesWithTotalCountAndEmbeddedCredentials) {
  SeedSpec spec;
  spec.users = 45;
  spec.mix = {{"OK", 2}, {"UNAUTHENTICATED", 1}, {kSeedNoCredentials, 2}};
  SeedResult seeded = emu_->Seed(spec);
  EXPECT_EQ(seeded.counts["OK"], 18);
  EXPECT_EQ(seeded.counts["UNAUTHENTICATED"], 9);
  EXPECT_EQ(seeded.counts[kSeedNoCredentials], 18);

  auto client = NewClient();
  std::set<std::string> seen;
  int with_credentials = 0;
  for (int page = 0; page < 3; ++page) {
    auto res =
        client->Get(std::string(kUsersPath) + "?page=" + std::to_string(page) + "&size=20", Auth());
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("X-Total-Count"), "45");
    rapidjson::Document d = Parse(res->body);
    ASSERT_TRUE(d.IsArray());
    EXPECT_EQ(d.Size(), page < 2 ? 20u : 5u);
    for (const auto& u : d.GetArray()) {
      seen.insert(u["id"].GetString());
      if (u["agLeaderCredentials"].IsNull()) continue;
      ++with_credentials;
      // Secrets echoed, as Leaf does.
      EXPECT_TRUE(absl::StartsWith(u["agLeaderCredentials"]["refreshToken"].GetString(),
                                   "seeded-refresh-"));
    }
  }
  EXPECT_EQ(seen.size(), 45u);
  EXPECT_EQ(with_credentials, 27);
}

TEST_F(UserRoutesTest, CreatedUsersStayListedAfterDelete) {
  ASSERT_EQ(CreateCreds()->status, 201);
  ASSERT_EQ(DeleteCreds()->status, 204);
  auto res = NewClient()->Get(kUsersPath, Auth());
  ASSERT_TRUE(res);
  rapidjson::Document d = Parse(res->body);
  ASSERT_EQ(d.Size(), 1u);
  EXPECT_STREQ(d[0]["id"].GetString(), kLeafUser);
  EXPECT_TRUE(d[0]["agLeaderCredentials"].IsNull());
}

TEST_F(UserRoutesTest, BadPagingIs400AndBearerIsRequired) {
  auto client = NewClient();
  ExpectProblem(client->Get(std::string(kUsersPath) + "?size=0", Auth()), 400);
  ExpectProblem(client->Get(std::string(kUsersPath) + "?page=-1", Auth()), 400);
  ExpectProblem(client->Get(std::string(kUsersPath) + "?size=2001", Auth()), 400);
  auto res = client->Get(kUsersPath);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
}

TEST_F(UserRoutesTest, SeedControlEndpointIsDeterministic) {
  auto client = NewClient();
  const std::string body = R"({"users":100,"mix":{"OK":1,"NONE":3},"seed":5})";
  auto res = client->Post("/_emulator/seed", body, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, R"({"users":100,"counts":{"NONE":75,"OK":25}})");
  auto first = client->Get(std::string(kUsersPath) + "?size=100", Auth())->body;
  emu_->Reset();
  client->Post("/_emulator/seed", body, "application/json");
  rapidjson::Document a = Parse(first);
  rapidjson::Document b = Parse(client->Get(std::string(kUsersPath) + "?size=100", Auth())->body);
  ASSERT_EQ(a.Size(), b.Size());
  for (rapidjson::SizeType i = 0; i < a.Size(); ++i) {
    EXPECT_STREQ(a[i]["id"].GetString(), b[i]["id"].GetString());
  }
  ExpectProblem(client->Post("/_emulator/seed", R"({"users":-1})", "application/json"), 400);
}

TEST(ParseSeedMix, ReadsWeightsAndRefusesGarbage) {
  auto mix = ParseSeedMix("OK=70,NONE=30");
  ASSERT_TRUE(mix.ok());
  EXPECT_EQ((*mix)["OK"], 70);
  EXPECT_EQ((*mix)["NONE"], 30);
  EXPECT_FALSE(ParseSeedMix("OK").ok());
  EXPECT_FALSE(ParseSeedMix("OK=-1").ok());
  EXPECT_FALSE(ParseSeedMix("").ok());
}

}  // namespace
}  // namespace leafemu
