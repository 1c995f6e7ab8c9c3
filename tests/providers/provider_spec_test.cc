#include "server/providers/provider_spec.h"

#include "gtest/gtest.h"

namespace leafsvc::providers {
namespace {

ProviderSpec TwoFields() {
  ProviderSpec spec;
  FieldSpec secret;
  secret.json_name = "clientSecret";
  secret.proto_field = "refresh_token";
  secret.secret = true;
  FieldSpec id;
  id.json_name = "clientId";
  id.proto_field = "public_key";
  spec.fields = {secret, id};
  StatusSpec ok;
  ok.leaf_value = "OK";
  ok.proto_enum_name = "CREDENTIAL_STATUS_OK";
  spec.statuses = {ok};
  return spec;
}

TEST(ProviderSpecTest, FieldsAreFoundByTheirExactJsonName) {
  const ProviderSpec spec = TwoFields();
  ASSERT_NE(spec.FindField("clientSecret"), nullptr);
  EXPECT_TRUE(spec.FindField("clientSecret")->secret);
  EXPECT_EQ(spec.FindField("clientId")->proto_field, "public_key");
  EXPECT_EQ(spec.FindField("clientsecret"), nullptr) << "JSON names are case-sensitive";
  EXPECT_EQ(spec.FindField(""), nullptr);
}

TEST(ProviderSpecTest, StatusesAreFoundByLeafsExactValue) {
  const ProviderSpec spec = TwoFields();
  ASSERT_NE(spec.FindStatus("OK"), nullptr);
  EXPECT_EQ(spec.FindStatus("OK")->proto_enum_name, "CREDENTIAL_STATUS_OK");
  EXPECT_EQ(spec.FindStatus("ok"), nullptr);
  EXPECT_EQ(spec.FindStatus("SOMETHING_NEW"), nullptr) << "unknown values are kept, not mapped";
}

}  // namespace
}  // namespace leafsvc::providers
