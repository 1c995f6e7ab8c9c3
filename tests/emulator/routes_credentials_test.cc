// Tests of GET, POST, DELETE .../ag-leader-credentials (routes_credentials.cc)
// through real HTTP.
#include <httplib.h>

#include <regex>
#include <string>

#include "absl/strings/str_cat.h"
#include "emulator/leaf_emulator.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/emulator/emulator_fixture.h"

namespace leafemu {
namespace {

using namespace emutest;  // NOLINT: the shared fixture's constants and helpers

using CredentialRoutesTest = EmulatorTest;

TEST_F(CredentialRoutesTest, CreateReturns201WithCredential) {
  auto res = CreateCreds(
      R"({"refreshToken":"rt-123","publicKey":"pub-456","privateKey":"priv-789","accessToken":"at-1","extra":1})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  rapidjson::Document d = Parse(res->body);
  ASSERT_TRUE(d.IsObject()) << res->body;
  EXPECT_TRUE(std::regex_match(d["id"].GetString(),
                               std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                                          "[0-9a-f]{12}")))
      << d["id"].GetString();
  EXPECT_STREQ(d["status"].GetString(), "OK");
  EXPECT_TRUE(std::regex_match(d["createdTime"].GetString(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")))
      << d["createdTime"].GetString();
  EXPECT_STREQ(d["accessToken"].GetString(), "at-1");
  EXPECT_STREQ(d["refreshToken"].GetString(), "rt-123");
  EXPECT_STREQ(d["publicKey"].GetString(), "pub-456");
  EXPECT_STREQ(d["privateKey"].GetString(), "priv-789");
  auto stored = emu_->GetStored(kLeafUser);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->id, d["id"].GetString());
  EXPECT_EQ(stored->Field("refreshToken"), "rt-123");
}

TEST_F(CredentialRoutesTest, GetAfterCreateReturns200WithSameCredential) {
  auto created = CreateCreds();
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201);
  auto res = GetCreds();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  rapidjson::Document d = Parse(res->body);
  ASSERT_TRUE(d.IsObject());
  EXPECT_EQ(std::string(d["id"].GetString()), Parse(created->body)["id"].GetString());
  EXPECT_STREQ(d["status"].GetString(), "OK");
  EXPECT_TRUE(!d.HasMember("accessToken") || d["accessToken"].IsNull());
  EXPECT_STREQ(d["refreshToken"].GetString(), "rt-123");
  EXPECT_STREQ(d["publicKey"].GetString(), "pub-456");
  EXPECT_STREQ(d["privateKey"].GetString(), "priv-789");
}

TEST_F(CredentialRoutesTest, GetWithoutCredentialsIs404) {
  auto res = GetCreds();
  ExpectProblem(res, 404, "credentialsnotfound");
  EXPECT_EQ(std::string(Parse(res->body)["path"].GetString()),
            absl::StrCat("/api/users/", kLeafUser, "/ag-leader-credentials"));
}

TEST_F(CredentialRoutesTest, CreateWithMissingFieldIs400WithFieldErrors) {
  auto res = CreateCreds(R"({"publicKey":"p","privateKey":"k"})");
  ExpectProblem(res, 400);
  rapidjson::Document d = Parse(res->body);
  ASSERT_TRUE(d.HasMember("fieldErrors"));
  ASSERT_EQ(d["fieldErrors"].Size(), 1u);
  const auto& fe = d["fieldErrors"][0];
  EXPECT_STREQ(fe["objectName"].GetString(), "agLeaderCredentials");
  EXPECT_STREQ(fe["field"].GetString(), "refreshToken");
  EXPECT_STREQ(fe["message"].GetString(), "NotNull");

  auto blank = CreateCreds(R"({"refreshToken":"","publicKey":"p","privateKey":"k"})");
  ExpectProblem(blank, 400);
  EXPECT_FALSE(emu_->GetStored(kLeafUser));
}

TEST_F(CredentialRoutesTest, CreateWithInvalidJsonIs400) {
  auto res = CreateCreds("{\"refreshToken\":");
  ExpectProblem(res, 400);
  rapidjson::Document d = Parse(res->body);
  ASSERT_TRUE(d.HasMember("fieldErrors"));
  EXPECT_GE(d["fieldErrors"].Size(), 1u);
}

TEST_F(CredentialRoutesTest, DeleteReturns204ThenGetAndDeleteAre404) {
  ASSERT_EQ(CreateCreds()->status, 201);
  auto res = DeleteCreds();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 204);
  EXPECT_TRUE(res->body.empty());
  ExpectProblem(GetCreds(), 404, "credentialsnotfound");
  ExpectProblem(DeleteCreds(), 404, "credentialsnotfound");
  ExpectProblem(GetEvents(), 404);  // events went with the credentials
}

TEST_F(CredentialRoutesTest, DuplicateCreateReplaceGives201AndNewId) {
  auto first = CreateCreds();
  auto second = CreateCreds(R"({"refreshToken":"rt-2","publicKey":"p2","privateKey":"k2"})");
  ASSERT_TRUE(first && second);
  EXPECT_EQ(second->status, 201);
  EXPECT_NE(std::string(Parse(first->body)["id"].GetString()),
            Parse(second->body)["id"].GetString());
  EXPECT_EQ(emu_->GetStored(kLeafUser)->Field("refreshToken"), "rt-2");
}

TEST_F(CredentialRoutesTest, DuplicateCreateBadRequestGives400WithErrorKey) {
  emu_->SetDuplicateCreateMode(DuplicateCreateMode::kBadRequest);
  ASSERT_EQ(CreateCreds()->status, 201);
  ExpectProblem(CreateCreds(R"({"refreshToken":"rt-2","publicKey":"p2","privateKey":"k2"})"), 400,
                "credentialsalreadyexist");
  EXPECT_EQ(emu_->GetStored(kLeafUser)->Field("refreshToken"), "rt-123");
}

TEST_F(CredentialRoutesTest, DuplicateCreateConflictGives409) {
  emu_->SetDuplicateCreateMode(DuplicateCreateMode::kConflict);
  ASSERT_EQ(CreateCreds()->status, 201);
  ExpectProblem(CreateCreds(), 409);
}

TEST_F(CredentialRoutesTest, InvalidRefreshTokenIsStoredUnauthenticatedByDefault) {
  auto res = CreateCreds(R"({"refreshToken":"invalid-rt","publicKey":"p","privateKey":"k"})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201);
  EXPECT_STREQ(Parse(res->body)["status"].GetString(), "UNAUTHENTICATED");
  rapidjson::Document events = Parse(GetEvents()->body);
  ASSERT_EQ(events.Size(), 1u);
  EXPECT_EQ(events[0]["statusCode"].GetInt(), 401);
}

TEST_F(CredentialRoutesTest, InvalidRefreshTokenIsRejectedWhenConfigured) {
  EmulatorOptions o = DefaultOptions();
  o.reject_invalid_refresh_token = true;
  StartWith(o);
  ExpectProblem(CreateCreds(R"({"refreshToken":"invalid-rt","publicKey":"p","privateKey":"k"})"),
                400);
  EXPECT_FALSE(emu_->GetStored(kLeafUser));
}

}  // namespace
}  // namespace leafemu
