// AgLeader's spec holds exactly the facts the hand-written code had (shared
// leaf-api.md): the names Leaf and its alerts use, the fields with their
// secrecy and whether create requires them, and the four status values.
#include "server/providers/agleader/agleader_spec.h"

#include "gtest/gtest.h"

namespace leafsvc::providers {
namespace {

TEST(AgLeaderSpecTest, Names) {
  const ProviderSpec& spec = AgLeaderSpec();
  EXPECT_EQ(spec.name, "AgLeader");
  EXPECT_EQ(spec.display_name, "AgLeader");
  EXPECT_EQ(spec.path_segment, "ag-leader-credentials");
  EXPECT_EQ(spec.resource_type, "AgLeaderCredentials");
  EXPECT_EQ(spec.user_member, "agLeaderCredentials");
  EXPECT_EQ(&spec, &AgLeaderSpec());
}

TEST(AgLeaderSpecTest, FieldsInTheOrderTheyAreSent) {
  const ProviderSpec& spec = AgLeaderSpec();
  ASSERT_EQ(spec.fields.size(), 4u);
  const struct {
    const char* json;
    const char* proto;
    bool secret;
    bool required;
  } want[] = {{"refreshToken", "refresh_token", true, true},
              {"publicKey", "public_key", false, true},
              {"privateKey", "private_key", true, true},
              {"accessToken", "access_token", true, false}};
  for (size_t i = 0; i < spec.fields.size(); ++i) {
    EXPECT_EQ(spec.fields[i].json_name, want[i].json);
    EXPECT_EQ(spec.fields[i].proto_field, want[i].proto);
    EXPECT_EQ(spec.fields[i].secret, want[i].secret) << want[i].json;
    EXPECT_EQ(spec.fields[i].required, want[i].required) << want[i].json;
    EXPECT_EQ(spec.FindField(want[i].json), &spec.fields[i]);
  }
  EXPECT_EQ(spec.FindField("refresh_token"), nullptr);
  EXPECT_EQ(spec.FindField(""), nullptr);
}

TEST(AgLeaderSpecTest, StatusValues) {
  const ProviderSpec& spec = AgLeaderSpec();
  ASSERT_EQ(spec.statuses.size(), 4u);
  for (const char* s : {"OK", "UNAUTHENTICATED", "MISSING_PERMISSION", "TEMPORARILY_UNAVAILABLE"}) {
    const StatusSpec* status = spec.FindStatus(s);
    ASSERT_NE(status, nullptr) << s;
    EXPECT_EQ(status->proto_enum_name, std::string("CREDENTIAL_STATUS_") + s);
  }
  // Leaf's values are compared exactly.
  EXPECT_EQ(spec.FindStatus("ok"), nullptr);
  EXPECT_EQ(spec.FindStatus("BRAND_NEW"), nullptr);
}

}  // namespace
}  // namespace leafsvc::providers
