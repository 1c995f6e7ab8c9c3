// Every string field refuses C0/C1 controls and invisible format characters.
#include <string>

#include "gtest/gtest.h"
#include "server/edge/validation.h"
#include "server/errors/status_details.h"

namespace leafsvc {
namespace {

namespace v1 = ::leaf::agleader::v1;

TEST(ValidationCharsTest, ControlsBidiAndFormatCharactersAreRefusedInEveryField) {
  for (const char* bad :
       {"\xC2\x85", "\xE2\x80\xAE", "\xE2\x80\xAA", "\xE2\x81\xA6", "\xE2\x80\x8E", "\xD8\x9C",
        "\xE2\x80\x8B", "\xEF\xBB\xBF", "\xE2\x81\xA0", "\x01", "\x7F", "\xC2\x9F"}) {
    for (const char* field : {"refresh_token", "public_key", "private_key", "access_token"}) {
      v1::CreateCredentialsRequest r;
      r.set_leaf_user_id("3fa85f64-5717-4562-b3fc-2c963f66afa6");
      r.set_refresh_token("refresh-token");
      r.set_public_key("public-key");
      r.set_private_key("private-key");
      r.set_access_token("access-token");
      const std::string value = std::string("abc") + bad + "def";
      if (std::string(field) == "refresh_token") r.set_refresh_token(value);
      if (std::string(field) == "public_key") r.set_public_key(value);
      if (std::string(field) == "private_key") r.set_private_key(value);
      if (std::string(field) == "access_token") r.set_access_token(value);
      const absl::Status st = Validate(r, {});
      ASSERT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << field;
      const StatusDetails d = GetStatusDetails(st);
      ASSERT_EQ(d.field_violations.size(), 1u);
      EXPECT_EQ(d.field_violations[0].field, field);
    }
    v1::ListCredentialEventsRequest list;
    list.set_leaf_user_id("3fa85f64-5717-4562-b3fc-2c963f66afa6");
    list.set_page_token(std::string("tok") + bad);
    EXPECT_EQ(Validate(list).code(), absl::StatusCode::kInvalidArgument);
  }
  // Ordinary non-ASCII text is fine.
  v1::CreateCredentialsRequest ok;
  ok.set_leaf_user_id("3FA85F64-5717-4562-B3FC-2C963F66AFA6");
  ok.set_refresh_token("abcdefghijkl\xE2\x82\xAC\xE2\x82\xAC");
  ok.set_public_key("cl\xC3\xA9");
  ok.set_private_key("\xF0\x9F\x94\x91-key");
  EXPECT_TRUE(Validate(ok, {}).ok());
}

}  // namespace
}  // namespace leafsvc
