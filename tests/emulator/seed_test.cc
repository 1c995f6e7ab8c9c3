// Unit tests of seeding (emulator/seed.h): the mix apportioned exactly,
// deterministic users, values shaped by the provider's spec, and the
// parsers of the control API's and the binary's seed inputs.
#include "emulator/seed.h"

#include <set>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace leafemu {
namespace {

const ProviderSpec& AgLeader() { return ::leafsvc::providers::AgLeaderSpec(); }

TEST(SeedTest, CountsFollowTheMixAndAddUp) {
  Store store(DuplicateCreateMode::kReplace);
  SeedSpec spec;
  spec.users = 101;
  spec.mix = {{"OK", 1}, {"UNAUTHENTICATED", 1}, {kSeedNoCredentials, 1}};
  SeedResult r = Seed(store, spec, AgLeader());
  ASSERT_EQ(r.users.size(), 101u);
  int total = 0;
  for (const auto& [status, n] : r.counts) {
    EXPECT_GE(n, 33) << status;
    EXPECT_LE(n, 34) << status;
    total += n;
  }
  EXPECT_EQ(total, 101);
  for (const auto& [user, status] : r.users) {
    std::optional<StoredCredentials> c = store.Get(user);
    if (status == kSeedNoCredentials) {
      EXPECT_FALSE(c.has_value());
    } else {
      ASSERT_TRUE(c.has_value());
      EXPECT_EQ(c->status, status);
      EXPECT_FALSE(c->id.empty());
    }
  }
}

TEST(SeedTest, TheSameSpecGivesTheSameUsers) {
  Store a(DuplicateCreateMode::kReplace), b(DuplicateCreateMode::kReplace);
  SeedSpec spec;
  spec.users = 20;
  spec.seed = 7;
  SeedResult ra = Seed(a, spec, AgLeader());
  SeedResult rb = Seed(b, spec, AgLeader());
  EXPECT_EQ(ra.users, rb.users);
  for (const auto& [user, status] : ra.users) {
    if (status == kSeedNoCredentials) continue;
    EXPECT_EQ(a.Get(user)->fields, b.Get(user)->fields);
  }
  spec.seed = 8;
  Store c(DuplicateCreateMode::kReplace);
  EXPECT_NE(Seed(c, spec, AgLeader()).users, ra.users);
}

// AgLeader's seeded values keep their long-standing shapes (tests and the
// audit sample rely on the prefixes); the access token, optional on create,
// is on every other user.
TEST(SeedTest, AgLeaderValuesHaveTheirPrefixesAndHintLength) {
  Store store(DuplicateCreateMode::kReplace);
  SeedSpec spec;
  spec.users = 10;
  spec.mix = {{"OK", 1}};
  SeedResult r = Seed(store, spec, AgLeader());
  int with_access = 0;
  for (size_t i = 0; i < r.users.size(); ++i) {
    StoredCredentials c = *store.Get(r.users[i].first);
    EXPECT_TRUE(absl::StartsWith(c.Field("refreshToken"), "seeded-refresh-"));
    EXPECT_TRUE(absl::StartsWith(c.Field("privateKey"), "seeded-private-"));
    EXPECT_EQ(c.Field("publicKey"), "seeded-public-key-" + std::to_string(i));
    EXPECT_GE(c.Field("refreshToken").size(), 12u);  // long enough for a hint
    if (!c.Field("accessToken").empty()) {
      EXPECT_TRUE(absl::StartsWith(c.Field("accessToken"), "seeded-access-"));
      ++with_access;
    }
  }
  EXPECT_EQ(with_access, 5);
}

TEST(SeedTest, AnotherProvidersFieldsAndDefaultPrefixes) {
  ProviderSpec spec;
  spec.fields = {{"clientSecret", "refresh_token", true, true},
                 {"clientId", "public_key", false, true}};
  Store store(DuplicateCreateMode::kReplace);
  SeedSpec seed;
  seed.users = 3;
  seed.mix = {{"GREEN", 1}};
  SeedResult r = Seed(store, seed, spec);
  StoredCredentials c = *store.Get(r.users[0].first);
  EXPECT_EQ(c.status, "GREEN");
  EXPECT_EQ(c.fields.size(), 2u);
  EXPECT_TRUE(absl::StartsWith(c.Field("clientSecret"), "seeded-clientSecret-"));
  EXPECT_EQ(c.Field("clientId"), "seeded-clientId-0");
  EXPECT_TRUE(c.Field("refreshToken").empty());
}

TEST(SeedTest, SpecFromJson) {
  absl::StatusOr<SeedSpec> s = SeedSpecFromJson(R"({"users":5,"mix":{"OK":1},"seed":9})");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->users, 5);
  EXPECT_EQ(s->seed, 9u);
  EXPECT_EQ(s->mix.size(), 1u);
  EXPECT_FALSE(SeedSpecFromJson("nope").ok());
  EXPECT_FALSE(SeedSpecFromJson(R"({"users":-1})").ok());
  EXPECT_FALSE(SeedSpecFromJson(R"({"users":5,"mix":[]})").ok());
  EXPECT_FALSE(SeedSpecFromJson(R"({"users":5,"mix":{"OK":-1}})").ok());
}

TEST(SeedTest, ParseSeedMix) {
  absl::StatusOr<std::map<std::string, double>> m = ParseSeedMix("OK=70,NONE=30");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->at("OK"), 70);
  EXPECT_EQ(m->at("NONE"), 30);
  EXPECT_FALSE(ParseSeedMix("").ok());
  EXPECT_FALSE(ParseSeedMix("OK").ok());
  EXPECT_FALSE(ParseSeedMix("OK=-1").ok());
  EXPECT_FALSE(ParseSeedMix("=3").ok());
}

TEST(SeedTest, ResultJson) {
  SeedResult r;
  r.counts = {{"NONE", 1}, {"OK", 2}};
  r.users = {{"a", "OK"}, {"b", "OK"}, {"c", "NONE"}};
  EXPECT_EQ(SeedResultJson(r), R"({"users":3,"counts":{"NONE":1,"OK":2}})");
}

}  // namespace
}  // namespace leafemu
