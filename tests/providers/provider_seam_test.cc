// The seam: a provider that exists only in tests (Testland,
// test_provider_spec.h), served by the emulator and driven through the whole
// stack (real gRPC, App, LeafClient, libcurl, emulator) by the public RPCs.
// Nothing but its spec and these fixtures is Testland's: every request must
// reach /users/{id}/testland-credentials with Testland's field names, and
// every answer must carry Testland's values in the public proto's fields.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "tests/integration/watch_stream.h"
#include "tests/providers/test_provider_spec.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;

std::unique_ptr<Harness> StartTestland(bool allow_full_view = false) {
  return Harness::Start([](leafemu::EmulatorOptions& o) { o.provider = &TestlandSpec(); },
                        [allow_full_view](ServerConfig& c) {
                          c.provider = &TestlandSpec();
                          c.allow_full_view = allow_full_view;
                        });
}

// Credentials stored at the emulator directly, as Leaf holds them.
leafemu::StoredCredentials Stored(const std::string& id, const std::string& status) {
  leafemu::StoredCredentials c;
  c.id = id;
  c.status = status;
  c.created_time = "2023-04-21T12:16:27.997586Z";
  c.fields = {{"clientSecret", "client-secret-AAAA1111"},
              {"clientId", "client-id-1"},
              {"signingKey", "signing-key-BBBB2222"}};
  return c;
}

std::string Path(const std::string& user) {
  return "/services/usermanagement/api/users/" + user + "/testland-credentials";
}

TEST(ProviderSeamTest, CreateSendsTheProvidersFieldsToItsPath) {
  auto h = StartTestland();
  ASSERT_NE(h, nullptr);
  v1::CreateCredentialsRequest req;
  req.set_leaf_user_id(kUserA);
  req.set_refresh_token("client-secret-AAAA1111");
  req.set_public_key("client-id-1");
  req.set_private_key("signing-key-BBBB2222");
  req.set_access_token("session-token-CCCC3333");
  v1::Credentials created;
  grpc::Status st = h->stub().CreateCredentials(Harness::Context().get(), req, &created);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(created.public_key(), "client-id-1");
  EXPECT_EQ(created.refresh_token_hint(), "****1111");
  EXPECT_EQ(created.private_key_hint(), "****2222");
  EXPECT_EQ(created.access_token_hint(), "****3333");
  EXPECT_TRUE(created.refresh_token().empty());
  EXPECT_EQ(created.status(), v1::CREDENTIAL_STATUS_OK);

  int posts = 0;
  for (const leafemu::RecordedRequest& r : h->emulator().Requests()) {
    if (r.method != "POST" || r.path != Path(kUserA)) continue;
    ++posts;
    EXPECT_TRUE(absl::StrContains(r.body, "\"clientSecret\":\"client-secret-AAAA1111\""));
    EXPECT_TRUE(absl::StrContains(r.body, "\"signingKey\":\"signing-key-BBBB2222\""));
    EXPECT_TRUE(absl::StrContains(r.body, "\"clientId\":\"client-id-1\""));
    EXPECT_TRUE(absl::StrContains(r.body, "\"sessionToken\":\"session-token-CCCC3333\""));
    EXPECT_FALSE(absl::StrContains(r.body, "refreshToken"));
  }
  EXPECT_EQ(posts, 1);
  std::optional<leafemu::StoredCredentials> stored = h->emulator().GetStored(kUserA);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->Field("clientSecret"), "client-secret-AAAA1111");
  EXPECT_EQ(stored->Field("sessionToken"), "session-token-CCCC3333");
}

TEST(ProviderSeamTest, GetMapsTheProvidersFieldsAndStatusesInBothViews) {
  auto h = StartTestland(/*allow_full_view=*/true);
  ASSERT_NE(h, nullptr);
  h->emulator().PutCredentials(kUserA, Stored("t-1", "SUSPENDED"));
  v1::GetCredentialsRequest req;
  req.set_leaf_user_id(kUserA);
  v1::Credentials basic;
  grpc::Status st = h->stub().GetCredentials(Harness::Context().get(), req, &basic);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(basic.id(), "t-1");
  EXPECT_EQ(basic.status(), v1::CREDENTIAL_STATUS_MISSING_PERMISSION);
  EXPECT_EQ(basic.leaf_status(), "SUSPENDED");
  EXPECT_EQ(basic.public_key(), "client-id-1");
  EXPECT_EQ(basic.refresh_token_hint(), "****1111");
  EXPECT_EQ(basic.private_key_hint(), "****2222");
  EXPECT_EQ(basic.access_token_hint(), "");
  EXPECT_TRUE(basic.refresh_token().empty());
  EXPECT_TRUE(basic.private_key().empty());
  EXPECT_EQ(basic.create_time().seconds(), 1682079387);

  req.set_view(v1::CREDENTIALS_VIEW_FULL);
  v1::Credentials full;
  st = h->stub().GetCredentials(Harness::Context().get(), req, &full);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(full.refresh_token(), "client-secret-AAAA1111");
  EXPECT_EQ(full.private_key(), "signing-key-BBBB2222");
  EXPECT_EQ(h->emulator().CountRequests("GET", Path(kUserA)), 2);
  EXPECT_EQ(h->emulator().CountRequests("", "ag-leader"), 0);
}

TEST(ProviderSeamTest, ErrorsNameTheProvider) {
  auto h = StartTestland();
  ASSERT_NE(h, nullptr);
  v1::GetCredentialsRequest req;
  req.set_leaf_user_id(kUserB);
  v1::Credentials out;
  grpc::Status st = h->stub().GetCredentials(Harness::Context().get(), req, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ErrorInfoOf(st).reason(), "CREDENTIALS_NOT_FOUND");
  EXPECT_TRUE(absl::StrContains(st.error_message(), "no Testland credentials"))
      << st.error_message();
  EXPECT_FALSE(absl::StrContains(st.error_message(), "AgLeader")) << st.error_message();
}

TEST(ProviderSeamTest, DeleteAndEventsUseTheProvidersPath) {
  auto h = StartTestland();
  ASSERT_NE(h, nullptr);
  h->emulator().PutCredentials(kUserA, Stored("t-1", "OK"));
  leafemu::StoredEvent event;
  event.id = "ev-1";
  event.created_date = "2023-04-21T12:16:28.000000Z";
  event.status_code = 200;
  event.body = "{}";
  ASSERT_TRUE(h->emulator().AddEvent(kUserA, event));

  v1::ListCredentialEventsRequest list;
  list.set_leaf_user_id(kUserA);
  v1::ListCredentialEventsResponse events;
  grpc::Status st = h->stub().ListCredentialEvents(Harness::Context().get(), list, &events);
  ASSERT_TRUE(st.ok()) << st.error_message();
  bool found = false;
  for (const v1::CredentialEvent& e : events.events()) found |= e.id() == "ev-1";
  EXPECT_TRUE(found);
  EXPECT_EQ(h->emulator().CountRequests("GET", Path(kUserA) + "/events"), 1);

  v1::DeleteCredentialsRequest del;
  del.set_leaf_user_id(kUserA);
  google::protobuf::Empty empty;
  st = h->stub().DeleteCredentials(Harness::Context().get(), del, &empty);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(h->emulator().CountRequests("DELETE", Path(kUserA)), 1);
  EXPECT_FALSE(h->emulator().GetStored(kUserA).has_value());
}

TEST(ProviderSeamTest, ListCredentialsReadsTheProvidersEmbeddedMember) {
  auto h = StartTestland();
  ASSERT_NE(h, nullptr);
  h->emulator().PutCredentials(kUserA, Stored("t-a", "OK"));
  h->emulator().PutCredentials(kUserB, Stored("t-b", "UNAUTHENTICATED"));
  v1::ListCredentialsRequest req;
  req.set_page_size(50);
  v1::ListCredentialsResponse resp;
  grpc::Status st = h->stub().ListCredentials(Harness::Context().get(), req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(resp.credentials_size(), 2);
  for (const v1::Credentials& c : resp.credentials()) {
    EXPECT_EQ(c.public_key(), "client-id-1");
    EXPECT_EQ(c.refresh_token_hint(), "****1111");
    EXPECT_TRUE(c.refresh_token().empty());
    if (c.id() == "t-b") {
      EXPECT_EQ(c.status(), v1::CREDENTIAL_STATUS_UNAUTHENTICATED);
    } else {
      EXPECT_EQ(c.status(), v1::CREDENTIAL_STATUS_OK);
    }
  }
}

TEST(ProviderSeamTest, WatchSnapshotCarriesTheProvidersValues) {
  auto h = StartTestland();
  ASSERT_NE(h, nullptr);
  h->emulator().PutCredentials(kUserA, Stored("t-1", "OK"));
  WatchStream stream(h->stub(), {kUserA});
  std::optional<v1::CredentialsChange> first = stream.Next(absl::Seconds(10));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->kind(), v1::CHANGE_KIND_INITIAL);
  EXPECT_EQ(first->current().id(), "t-1");
  EXPECT_EQ(first->current().public_key(), "client-id-1");
  EXPECT_EQ(first->current().refresh_token_hint(), "****1111");
  EXPECT_EQ(first->current().status(), v1::CREDENTIAL_STATUS_OK);
  stream.Cancel();
  EXPECT_GE(h->emulator().CountRequests("GET", Path(kUserA)), 1);
}

}  // namespace
}  // namespace leafsvc::testing
