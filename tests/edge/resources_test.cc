#include "server/edge/resources.h"

#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "server/providers/agleader/agleader_spec.h"

namespace leafsvc {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr char kUser[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

leaf::CredentialField Field(const char* name, const char* value, bool secret) {
  leaf::CredentialField f;
  f.name = name;
  f.value = Secret(value);
  f.secret = secret;
  return f;
}

leaf::ProviderCredentials Sample() {
  leaf::ProviderCredentials c;
  c.id = "c1";
  c.status = "UNAUTHENTICATED";
  c.created_time = absl::FromUnixMicros(1682079387997586);
  c.fields.push_back(Field("publicKey", "public-key", false));
  c.fields.push_back(Field("refreshToken", "refresh-token-0001", true));
  c.fields.push_back(Field("privateKey", "private-key-0002", true));
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

// Fleet mode shares secrets as their hint only (CredentialField::hint):
// both views show that hint, and FULL has no value to show.
TEST(ResourcesTest, WithheldSecretShowsItsHint) {
  leaf::ProviderCredentials c = Sample();
  c.fields[1].value = Secret("");
  c.fields[1].hint = "****0001";
  for (v1::CredentialsView view : {v1::CREDENTIALS_VIEW_BASIC, v1::CREDENTIALS_VIEW_FULL}) {
    v1::Credentials out;
    ToProto(c, kUser, view, &out);
    EXPECT_EQ(out.refresh_token_hint(), "****0001");
    EXPECT_TRUE(out.refresh_token().empty());
    EXPECT_EQ(out.private_key_hint(), "****0002");
  }
  // A value, when there is one, wins over a stale hint.
  c.fields[1].value = Secret("refresh-token-9999");
  v1::Credentials out;
  ToProto(c, kUser, v1::CREDENTIALS_VIEW_BASIC, &out);
  EXPECT_EQ(out.refresh_token_hint(), "****9999");
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

TEST(ResourcesTest, AccessTokenIsHintedAndShownOnlyInTheFullView) {
  leaf::ProviderCredentials c = Sample();
  c.fields.push_back(Field("accessToken", "access-token-0003", true));
  v1::Credentials basic, full;
  ToProto(c, kUser, v1::CREDENTIALS_VIEW_BASIC, &basic);
  EXPECT_EQ(basic.access_token_hint(), "****0003");
  EXPECT_TRUE(basic.access_token().empty());
  ToProto(c, kUser, v1::CREDENTIALS_VIEW_FULL, &full);
  EXPECT_EQ(full.access_token(), "access-token-0003");
  EXPECT_EQ(full.public_key(), "public-key");
}

TEST(ResourcesTest, FieldsTheSpecDoesNotNameAreNotShown) {
  leaf::ProviderCredentials c = Sample();
  c.fields.push_back(Field("somethingElse", "other-secret-value", true));
  v1::Credentials out;
  ToProto(c, kUser, v1::CREDENTIALS_VIEW_FULL, &out);
  EXPECT_EQ(out.SerializeAsString().find("other-secret-value"), std::string::npos);
}

TEST(ResourcesTest, CreateRequestMapsEveryFieldOfTheSpec) {
  v1::CreateCredentialsRequest request;
  request.set_leaf_user_id(kUser);
  request.set_refresh_token("rt");
  request.set_public_key("pk");
  request.set_private_key("sk");
  request.set_access_token("at");
  const leaf::NewProviderCredentials n = FromProto(request);
  ASSERT_EQ(n.fields.size(), 4u);
  const struct {
    const char* name;
    const char* value;
    bool secret;
  } want[] = {{"refreshToken", "rt", true},
              {"publicKey", "pk", false},
              {"privateKey", "sk", true},
              {"accessToken", "at", true}};
  for (const auto& w : want) {
    const leaf::CredentialField* f = leaf::FindField(n.fields, w.name);
    ASSERT_NE(f, nullptr) << w.name;
    EXPECT_EQ(f->value.Reveal(), w.value) << w.name;
    EXPECT_EQ(f->secret, w.secret) << w.name;
  }
  // The leaf user id and the view are not credentials.
  EXPECT_EQ(leaf::FindField(n.fields, "leafUserId"), nullptr);
}

// Another provider's names, mapped onto the same proto fields: the mapping
// is the spec's data, not AgLeader's spelling.
TEST(ResourcesTest, MapsByTheSpecGiven) {
  providers::ProviderSpec spec;
  spec.fields = {{"clientSecret", "refresh_token", true, true},
                 {"clientId", "public_key", false, true},
                 {"noSuchProtoField", "no_such_field", true, false}};
  spec.statuses = {{"FINE", "CREDENTIAL_STATUS_OK"}, {"BROKEN", "NO_SUCH_ENUM_VALUE"}};
  leaf::ProviderCredentials c;
  c.id = "t1";
  c.status = "FINE";
  c.fields.push_back(Field("clientSecret", "client-secret-0009", true));
  c.fields.push_back(Field("clientId", "client-id", false));
  c.fields.push_back(Field("noSuchProtoField", "ignored-value", true));
  v1::Credentials basic, full;
  ToProto(c, kUser, v1::CREDENTIALS_VIEW_BASIC, spec, &basic);
  EXPECT_EQ(basic.status(), v1::CREDENTIAL_STATUS_OK);
  EXPECT_EQ(basic.public_key(), "client-id");
  EXPECT_EQ(basic.refresh_token_hint(), "****0009");
  EXPECT_TRUE(basic.refresh_token().empty());
  EXPECT_EQ(basic.private_key_hint(), "");
  ToProto(c, kUser, v1::CREDENTIALS_VIEW_FULL, spec, &full);
  EXPECT_EQ(full.refresh_token(), "client-secret-0009");
  EXPECT_EQ(full.SerializeAsString().find("ignored-value"), std::string::npos);
  // AgLeader's names mean nothing to this spec, and its statuses are its own.
  EXPECT_EQ(ToCredentialStatus("OK", spec), v1::CREDENTIAL_STATUS_UNSPECIFIED);
  EXPECT_EQ(ToCredentialStatus("BROKEN", spec), v1::CREDENTIAL_STATUS_UNSPECIFIED);

  v1::CreateCredentialsRequest request;
  request.set_refresh_token("secret-from-caller");
  request.set_public_key("id-from-caller");
  const leaf::NewProviderCredentials n = FromProto(request, spec);
  ASSERT_NE(leaf::FindField(n.fields, "clientSecret"), nullptr);
  EXPECT_EQ(leaf::FindField(n.fields, "clientSecret")->value.Reveal(), "secret-from-caller");
  EXPECT_EQ(leaf::FindField(n.fields, "clientId")->value.Reveal(), "id-from-caller");
  EXPECT_TRUE(leaf::FindField(n.fields, "noSuchProtoField")->value.empty());
  EXPECT_EQ(leaf::FindField(n.fields, "refreshToken"), nullptr);

  // Credentials carry the spec they were decoded by: the overload without
  // one maps them by it, not by AgLeader's.
  c.provider = &spec;
  v1::Credentials carried;
  ToProto(c, kUser, v1::CREDENTIALS_VIEW_BASIC, &carried);
  EXPECT_EQ(carried.public_key(), "client-id");
  EXPECT_EQ(carried.status(), v1::CREDENTIAL_STATUS_OK);
}

// Every name AgLeader's spec gives exists in the public proto: a typo would
// silently drop a field (the mapping skips names the proto lacks).
TEST(ResourcesTest, AgLeaderSpecNamesExistInTheProto) {
  const providers::ProviderSpec& spec = providers::AgLeaderSpec();
  const auto* credentials = v1::Credentials::descriptor();
  const auto* create = v1::CreateCredentialsRequest::descriptor();
  for (const providers::FieldSpec& f : spec.fields) {
    EXPECT_NE(credentials->FindFieldByName(f.proto_field), nullptr) << f.proto_field;
    EXPECT_NE(create->FindFieldByName(f.proto_field), nullptr) << f.proto_field;
    if (f.secret) {
      EXPECT_NE(credentials->FindFieldByName(f.proto_field + "_hint"), nullptr) << f.proto_field;
    }
  }
  for (const providers::StatusSpec& s : spec.statuses) {
    EXPECT_NE(v1::CredentialStatus_descriptor()->FindValueByName(s.proto_enum_name), nullptr)
        << s.proto_enum_name;
    EXPECT_NE(ToCredentialStatus(s.leaf_value), v1::CREDENTIAL_STATUS_UNSPECIFIED);
  }
}

}  // namespace
}  // namespace leafsvc
