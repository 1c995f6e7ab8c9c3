#include "server/resources.h"

#include "gtest/gtest.h"

namespace leafsvc {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr char kUser[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

leaf::ProviderCredentials Sample() {
  leaf::ProviderCredentials c;
  c.id = "c1";
  c.status = "UNAUTHENTICATED";
  c.created_time = absl::FromUnixMicros(1682079387997586);
  c.public_key = "public-key";
  c.refresh_token = Secret("refresh-token-0001");
  c.private_key = Secret("private-key-0002");
  return c;
}

TEST(ResourcesTest, BasicViewHasHintsAndNoSecrets) {
  v1::Credentials out;
  ToProto(Sample(), kUser, v1::CREDENTIALS_VIEW_BASIC, &out);
  EXPECT_EQ(out.name(), std::string("users/") + kUser + "/agLeaderCredentials");
  EXPECT_EQ(out.leaf_user_id(), kUser);
  EXPECT_EQ(out.status(), v1::CREDENTIAL_STATUS_UNAUTHENTICATED);
  EXPECT_EQ(out.leaf_status(), "UNAUTHENTICATED");
  EXPECT_EQ(out.create_time().seconds(), 1682079387);
  EXPECT_EQ(out.create_time().nanos(), 997586000);
  EXPECT_EQ(out.public_key(), "public-key");
  EXPECT_EQ(out.refresh_token_hint(), "****0001");
  EXPECT_EQ(out.private_key_hint(), "****0002");
  EXPECT_EQ(out.access_token_hint(), "");
  EXPECT_TRUE(out.refresh_token().empty());
  EXPECT_TRUE(out.private_key().empty());
  std::string wire = out.SerializeAsString();
  EXPECT_EQ(wire.find("refresh-token"), std::string::npos);
  EXPECT_EQ(wire.find("private-key"), std::string::npos);
}

TEST(ResourcesTest, UnspecifiedViewIsBasic) {
  v1::Credentials out;
  ToProto(Sample(), kUser, v1::CREDENTIALS_VIEW_UNSPECIFIED, &out);
  EXPECT_TRUE(out.refresh_token().empty());
}

TEST(ResourcesTest, FullViewHasSecrets) {
  v1::Credentials out;
  ToProto(Sample(), kUser, v1::CREDENTIALS_VIEW_FULL, &out);
  EXPECT_EQ(out.refresh_token(), "refresh-token-0001");
  EXPECT_EQ(out.private_key(), "private-key-0002");
}

TEST(ResourcesTest, StatusMapping) {
  EXPECT_EQ(ToCredentialStatus("OK"), v1::CREDENTIAL_STATUS_OK);
  EXPECT_EQ(ToCredentialStatus("MISSING_PERMISSION"), v1::CREDENTIAL_STATUS_MISSING_PERMISSION);
  EXPECT_EQ(ToCredentialStatus("TEMPORARILY_UNAVAILABLE"),
            v1::CREDENTIAL_STATUS_TEMPORARILY_UNAVAILABLE);
  EXPECT_EQ(ToCredentialStatus("ok"), v1::CREDENTIAL_STATUS_UNSPECIFIED);
  EXPECT_EQ(ToCredentialStatus("BRAND_NEW"), v1::CREDENTIAL_STATUS_UNSPECIFIED);
}

TEST(ResourcesTest, EventMapping) {
  leaf::CredentialEvent e;
  e.id = "e1";
  e.created_date = absl::FromUnixSeconds(100);
  e.status_code = 401;
  e.headers = "h";
  e.body = "b";
  v1::CredentialEvent out;
  ToProto(e, kUser, v1::CREDENTIALS_VIEW_UNSPECIFIED, &out);
  EXPECT_EQ(out.name(), std::string("users/") + kUser + "/agLeaderCredentials/events/e1");
  EXPECT_EQ(out.create_time().seconds(), 100);
  EXPECT_EQ(out.status_code(), 401);
  EXPECT_EQ(out.headers(), "h");
  EXPECT_EQ(out.body(), "b");
}

TEST(ResourcesTest, EventSecretsAreRedactedExceptInTheFullView) {
  leaf::CredentialEvent e;
  e.id = "e1";
  e.headers = "Content-Type: application/json\nSet-Cookie: sid=abc123; Path=/";
  e.body = "{\"access_token\":\"0123456789abcdef0123456789abcdef\",\"expires_in\":3600}";
  v1::CredentialEvent basic, full;
  ToProto(e, kUser, v1::CREDENTIALS_VIEW_BASIC, &basic);
  EXPECT_EQ(basic.headers(), "Content-Type: application/json\nSet-Cookie: [redacted]");
  EXPECT_EQ(basic.body(), "{\"access_token\":\"[redacted]\",\"expires_in\":3600}");
  ToProto(e, kUser, v1::CREDENTIALS_VIEW_FULL, &full);
  EXPECT_EQ(full.headers(), e.headers);
  EXPECT_EQ(full.body(), e.body);
}

TEST(ResourcesTest, EventIdsCannotForgeNames) {
  leaf::CredentialEvent e;
  e.id = "../x/y z";
  v1::CredentialEvent out;
  ToProto(e, kUser, v1::CREDENTIALS_VIEW_BASIC, &out);
  EXPECT_EQ(out.name(),
            std::string("users/") + kUser + "/agLeaderCredentials/events/..%2Fx%2Fy%20z");
}

TEST(ResourcesTest, HintsAreTheLastFourCharacters) {
  EXPECT_EQ(SecretHint(Secret("abcdefghijkl\xE2\x82\xAC\xE2\x82\xAC")),
            "****kl\xE2\x82\xAC\xE2\x82\xAC");
  EXPECT_EQ(SecretHint(Secret("abcdefghijk\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80")),
            "****k\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80");
  // 11 characters (but 20 bytes) is short.
  EXPECT_EQ(SecretHint(Secret("abcdefg\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC")), "****");
  EXPECT_EQ(SecretHint(Secret("0123456789abcdef")), "****cdef");
  EXPECT_EQ(SecretHint(Secret("")), "");
}

}  // namespace
}  // namespace leafsvc
