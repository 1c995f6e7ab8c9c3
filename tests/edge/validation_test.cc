#include "server/edge/validation.h"

#include "gtest/gtest.h"
#include "server/errors/status_details.h"

namespace leafsvc {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr char kUser[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

std::vector<std::string> Fields(const absl::Status& st) {
  std::vector<std::string> out;
  for (const FieldViolation& v : GetStatusDetails(st).field_violations) out.push_back(v.field);
  return out;
}

v1::CreateCredentialsRequest ValidCreate() {
  v1::CreateCredentialsRequest r;
  r.set_leaf_user_id(kUser);
  r.set_refresh_token("refresh");
  r.set_public_key("public");
  r.set_private_key("private");
  return r;
}

TEST(ValidationTest, ValidRequestsPass) {
  v1::GetCredentialsRequest get;
  get.set_leaf_user_id(kUser);
  EXPECT_TRUE(Validate(get, {}).ok());
  EXPECT_TRUE(Validate(ValidCreate(), {}).ok());
  v1::DeleteCredentialsRequest del;
  del.set_leaf_user_id(kUser);
  EXPECT_TRUE(Validate(del).ok());
  v1::ListCredentialEventsRequest list;
  list.set_leaf_user_id(kUser);
  list.set_page_size(500);
  EXPECT_TRUE(Validate(list).ok());
}

TEST(ValidationTest, MissingUserIdIsABadRequestFieldViolation) {
  v1::GetCredentialsRequest get;
  absl::Status st = Validate(get, {});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GetStatusDetails(st).reason, "INVALID_REQUEST");
  EXPECT_EQ(Fields(st), std::vector<std::string>{"leaf_user_id"});
  EXPECT_NE(st.message().find("leaf_user_id: required"), absl::string_view::npos);
}

TEST(ValidationTest, HostileUserIdsAreRejectedWithoutEchoingThem) {
  for (std::string bad : {std::string("../../admin"), std::string("%2e%2e%2fadmin"),
                          std::string("3fa85f64-5717-4562-b3fc-2c963f66afa6/x"),
                          std::string("3fa85f64-5717-4562-b3fc-2c963f66afa6?x=1"),
                          std::string("3fa85f64-5717-4562-b3fc-2c963f66af#6"),
                          std::string("3fa85f64-5717-4562-b3fc-2c963f66afa\0", 36),
                          std::string("3fa85f64-5717-4562-b3fc-2c963f66af\n6")}) {
    v1::DeleteCredentialsRequest del;
    del.set_leaf_user_id(bad);
    absl::Status st = Validate(del);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(st.message().find(bad), absl::string_view::npos);
  }
}

TEST(ValidationTest, ReportsEveryProblemAtOnce) {
  v1::CreateCredentialsRequest r;
  r.set_leaf_user_id("nope");
  r.set_private_key(std::string(kMaxSecretFieldBytes + 1, 'k'));
  r.set_access_token("tab\there");
  absl::Status st = Validate(r, {});
  EXPECT_EQ(Fields(st), (std::vector<std::string>{"leaf_user_id", "refresh_token", "public_key",
                                                  "private_key", "access_token"}));
}

TEST(ValidationTest, SecretValuesAreNeverQuoted) {
  v1::CreateCredentialsRequest r = ValidCreate();
  r.set_refresh_token("my-refresh-secret\n");
  absl::Status st = Validate(r, {});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message().find("my-refresh-secret"), absl::string_view::npos);
  for (const FieldViolation& v : GetStatusDetails(st).field_violations) {
    EXPECT_EQ(v.description.find("my-refresh-secret"), std::string::npos);
  }
}

TEST(ValidationTest, FullViewNeedsTheServerFlag) {
  v1::GetCredentialsRequest get;
  get.set_leaf_user_id(kUser);
  get.set_view(v1::CREDENTIALS_VIEW_FULL);
  absl::Status st = Validate(get, {});
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(GetStatusDetails(st).reason, "FULL_VIEW_NOT_ALLOWED");
  EXPECT_TRUE(Validate(get, {/*allow_full_view=*/true}).ok());

  get.set_view(static_cast<v1::CredentialsView>(42));
  EXPECT_EQ(Validate(get, {true}).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ValidationTest, PageSizeBounds) {
  v1::ListCredentialEventsRequest list;
  list.set_leaf_user_id(kUser);
  list.set_page_size(-1);
  EXPECT_EQ(Fields(Validate(list)), std::vector<std::string>{"page_size"});
  list.set_page_size(kMaxPageSize + 1);
  EXPECT_EQ(Fields(Validate(list)), std::vector<std::string>{"page_size"});
  list.set_page_size(0);
  EXPECT_TRUE(Validate(list).ok());
}

}  // namespace
}  // namespace leafsvc
