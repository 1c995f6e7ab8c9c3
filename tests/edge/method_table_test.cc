// The method table and the service agree: every RPC of the service
// descriptor has a row (a new RPC cannot be forgotten) and every row is a
// complete one.
#include "server/edge/method_table.h"

#include <set>
#include <string>

#include "gtest/gtest.h"
#include "leaf/agleader/v1/agleader_credentials.pb.h"

namespace leafsvc::methods {
namespace {

TEST(MethodTableTest, EveryRpcOfTheServiceHasExactlyOneRow) {
  const google::protobuf::ServiceDescriptor* service =
      v1::GetCredentialsRequest::descriptor()->file()->FindServiceByName("AgLeaderCredentials");
  ASSERT_NE(service, nullptr);
  std::set<std::string> rpcs;
  for (int i = 0; i < service->method_count(); ++i) rpcs.insert(service->method(i)->name());
  std::set<std::string> rows;
  for (absl::string_view name : Names()) {
    EXPECT_TRUE(rows.insert(std::string(name)).second) << "two rows for " << name;
  }
  EXPECT_EQ(rows, rpcs);
}

template <typename Row>
void ExpectComplete(const Row& row) {
  EXPECT_FALSE(row.name.empty());
  EXPECT_NE(row.validate, nullptr) << row.name;
  EXPECT_NE(row.start, nullptr) << row.name;
  EXPECT_NE(row.respond, nullptr) << row.name;
}

TEST(MethodTableTest, EveryUnaryRowIsComplete) {
  ExpectComplete(GetCredentials());
  ExpectComplete(CreateCredentials());
  ExpectComplete(DeleteCredentials());
  ExpectComplete(ListCredentialEvents());
  ExpectComplete(ListCredentials());
  ExpectComplete(BatchGetCredentials());
  EXPECT_NE(WatchCredentials().validate, nullptr);
}

TEST(MethodTableTest, OneUserRowsNameTheUserInItsOneSpelling) {
  v1::GetCredentialsRequest get;
  get.set_leaf_user_id("3FA85F64-5717-4562-B3FC-2C963F66AFA6");
  EXPECT_EQ(GetCredentials().leaf_user(get), "3fa85f64-5717-4562-b3fc-2c963f66afa6");
  v1::DeleteCredentialsRequest del;
  del.set_leaf_user_id("3FA85F64-5717-4562-B3FC-2C963F66AFA6");
  EXPECT_EQ(DeleteCredentials().leaf_user(del), "3fa85f64-5717-4562-b3fc-2c963f66afa6");
  // Many-user calls name no user.
  EXPECT_EQ(ListCredentials().leaf_user, nullptr);
  EXPECT_EQ(BatchGetCredentials().leaf_user, nullptr);
}

TEST(MethodTableTest, CreateDeclaresEverySecretField) {
  v1::CreateCredentialsRequest create;
  create.set_refresh_token("refresh-secret");
  create.set_private_key("private-secret");
  create.set_access_token("access-secret");
  create.set_public_key("public");
  ASSERT_NE(CreateCredentials().secrets, nullptr);
  std::set<std::string> secrets;
  for (absl::string_view s : CreateCredentials().secrets(create)) secrets.emplace(s);
  EXPECT_EQ(secrets, (std::set<std::string>{"refresh-secret", "private-secret", "access-secret"}));
  // The secret fields of the request message are exactly those.
  std::set<std::string> declared;
  const google::protobuf::Descriptor* d = v1::CreateCredentialsRequest::descriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const std::string& n = d->field(i)->name();
    if (n == "refresh_token" || n == "private_key" || n == "access_token") declared.insert(n);
  }
  EXPECT_EQ(declared.size(), 3u);
}

}  // namespace
}  // namespace leafsvc::methods
