// Every RPC through the real stack: stub -> gRPC -> service -> libcurl ->
// HTTP -> emulator, and back.
#include <grpcpp/grpcpp.h>

#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "third_party/grpc_proto/grpc/health/v1/health.grpc.pb.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    h_ = Harness::Start();
    ASSERT_NE(h_, nullptr);
  }
  std::unique_ptr<Harness> h_;
};

TEST_F(ServiceTest, CreateThenGetReturnsTheStoredCredentialsWithoutSecrets) {
  v1::Credentials created = h_->Create(kUserA);
  EXPECT_EQ(created.name(), std::string("users/") + kUserA + "/agLeaderCredentials");
  EXPECT_EQ(created.leaf_user_id(), kUserA);
  EXPECT_FALSE(created.id().empty());
  EXPECT_EQ(created.status(), v1::CREDENTIAL_STATUS_OK);
  EXPECT_EQ(created.leaf_status(), "OK");
  EXPECT_GT(created.create_time().seconds(), 1600000000);
  EXPECT_EQ(created.public_key(), "public-key-CCCC3333");
  EXPECT_EQ(created.refresh_token_hint(), "****1111");
  EXPECT_EQ(created.private_key_hint(), "****2222");
  EXPECT_TRUE(created.refresh_token().empty());
  EXPECT_TRUE(created.private_key().empty());

  // Leaf received exactly what was sent.
  auto stored = h_->emulator().GetStored(kUserA);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->Field("refreshToken"), "refresh-token-AAAA1111");
  EXPECT_EQ(stored->Field("privateKey"), "private-key-BBBB2222");
  EXPECT_EQ(stored->Field("publicKey"), "public-key-CCCC3333");

  v1::GetCredentialsRequest get;
  get.set_leaf_user_id(kUserA);
  v1::Credentials got;
  grpc::Status st = h_->stub().GetCredentials(Harness::Context().get(), get, &got);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(got.id(), created.id());
  EXPECT_EQ(got.create_time().seconds(), created.create_time().seconds());
  EXPECT_TRUE(got.refresh_token().empty());
  EXPECT_EQ(got.refresh_token_hint(), "****1111");
}

TEST_F(ServiceTest, AccessTokenIsSentOnlyWhenGiven) {
  v1::CreateCredentialsRequest req;
  req.set_leaf_user_id(kUserB);
  req.set_refresh_token("r");
  req.set_public_key("p");
  req.set_private_key("k");
  req.set_access_token("access-token-DDDD4444");
  v1::Credentials out;
  ASSERT_TRUE(h_->stub().CreateCredentials(Harness::Context().get(), req, &out).ok());
  EXPECT_EQ(out.access_token_hint(), "****4444");
  EXPECT_EQ(h_->emulator().GetStored(kUserB)->Field("accessToken"), "access-token-DDDD4444");
  auto posts = h_->emulator().Requests();
  ASSERT_FALSE(posts.empty());
  EXPECT_NE(posts.back().body.find("accessToken"), std::string::npos);

  h_->Create(kUserA);
  bool found = false;
  for (const auto& r : h_->emulator().Requests()) {
    if (r.method == "POST" && r.path.find(kUserA) != std::string::npos) {
      found = true;
      EXPECT_EQ(r.body.find("accessToken"), std::string::npos);
      EXPECT_EQ(r.headers.at("content-type"), "application/json");
      EXPECT_EQ(r.headers.at("authorization"), std::string("Bearer ") + kStaticToken);
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(ServiceTest, FullViewIsRefusedUnlessTheServerAllowsIt) {
  h_->Create(kUserA);
  v1::GetCredentialsRequest get;
  get.set_leaf_user_id(kUserA);
  get.set_view(v1::CREDENTIALS_VIEW_FULL);
  v1::Credentials got;
  grpc::Status st = h_->stub().GetCredentials(Harness::Context().get(), get, &got);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ErrorInfoOf(st).reason(), "FULL_VIEW_NOT_ALLOWED");
  EXPECT_EQ(h_->emulator().CountRequests("GET", "ag-leader-credentials"), 0);
}

TEST(ServiceFullViewTest, FullViewWithTheFlagReturnsSecrets) {
  auto h = Harness::Start(nullptr, [](ServerConfig& c) { c.allow_full_view = true; });
  ASSERT_NE(h, nullptr);
  h->Create(kUserA);
  v1::GetCredentialsRequest get;
  get.set_leaf_user_id(kUserA);
  get.set_view(v1::CREDENTIALS_VIEW_FULL);
  v1::Credentials got;
  ASSERT_TRUE(h->stub().GetCredentials(Harness::Context().get(), get, &got).ok());
  EXPECT_EQ(got.refresh_token(), "refresh-token-AAAA1111");
  EXPECT_EQ(got.private_key(), "private-key-BBBB2222");
}

TEST_F(ServiceTest, GetWithoutCredentialsIsNotFound) {
  v1::GetCredentialsRequest get;
  get.set_leaf_user_id(kUserA);
  v1::Credentials got;
  grpc::Status st = h_->stub().GetCredentials(Harness::Context().get(), get, &got);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  auto info = ErrorInfoOf(st);
  EXPECT_EQ(info.reason(), "CREDENTIALS_NOT_FOUND");
  EXPECT_EQ(info.domain(), "leaf.agleader.v1");
  EXPECT_EQ(info.metadata().at("leaf_http_status"), "404");
  EXPECT_EQ(info.metadata().at("leaf_user_id"), kUserA);
}

TEST_F(ServiceTest, DeleteRemovesAndThenIsNotFoundUnlessAllowMissing) {
  h_->Create(kUserA);
  v1::DeleteCredentialsRequest del;
  del.set_leaf_user_id(kUserA);
  google::protobuf::Empty empty;
  ASSERT_TRUE(h_->stub().DeleteCredentials(Harness::Context().get(), del, &empty).ok());
  EXPECT_FALSE(h_->emulator().GetStored(kUserA).has_value());

  grpc::Status again = h_->stub().DeleteCredentials(Harness::Context().get(), del, &empty);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ErrorInfoOf(again).reason(), "CREDENTIALS_NOT_FOUND");

  del.set_allow_missing(true);
  EXPECT_TRUE(h_->stub().DeleteCredentials(Harness::Context().get(), del, &empty).ok());
}

TEST_F(ServiceTest, InvalidRequestsNeverReachLeaf) {
  v1::GetCredentialsRequest get;
  get.set_leaf_user_id("../../admin");
  v1::Credentials got;
  grpc::Status st = h_->stub().GetCredentials(Harness::Context().get(), get, &got);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorInfoOf(st).reason(), "INVALID_REQUEST");
  auto bad = BadRequestOf(st);
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(), "leaf_user_id");

  v1::CreateCredentialsRequest create;
  create.set_leaf_user_id(kUserA);
  create.set_public_key("p");
  v1::Credentials out;
  st = h_->stub().CreateCredentials(Harness::Context().get(), create, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadRequestOf(st).field_violations_size(), 2);  // refresh_token, private_key

  v1::ListCredentialEventsRequest list;
  list.set_leaf_user_id(kUserA);
  list.set_page_size(100000);
  v1::ListCredentialEventsResponse events;
  st = h_->stub().ListCredentialEvents(Harness::Context().get(), list, &events);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  EXPECT_TRUE(h_->emulator().Requests().empty());
}

TEST_F(ServiceTest, UnknownUserIsNotFoundWhenLeafSaysSo) {
  auto h = Harness::Start(
      [](leafemu::EmulatorOptions& o) { o.known_users = std::vector<std::string>{kUserA}; });
  ASSERT_NE(h, nullptr);
  v1::GetCredentialsRequest get;
  get.set_leaf_user_id(kUserB);
  v1::Credentials got;
  grpc::Status st = h->stub().GetCredentials(Harness::Context().get(), get, &got);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ErrorInfoOf(st).reason(), "LEAF_USER_NOT_FOUND");
}

TEST_F(ServiceTest, DuplicateCreateFollowsLeaf) {
  h_->Create(kUserA, "first-refresh-token-0001");
  // Replace mode (the emulator's default): the second create wins.
  v1::Credentials second = h_->Create(kUserA, "second-refresh-token-0002");
  EXPECT_EQ(second.refresh_token_hint(), "****0002");

  for (auto mode :
       {leafemu::DuplicateCreateMode::kBadRequest, leafemu::DuplicateCreateMode::kConflict}) {
    h_->emulator().SetDuplicateCreateMode(mode);
    v1::CreateCredentialsRequest req;
    req.set_leaf_user_id(kUserA);
    req.set_refresh_token("third-refresh-token-0003");
    req.set_public_key("p");
    req.set_private_key("k");
    v1::Credentials out;
    grpc::Status st = h_->stub().CreateCredentials(Harness::Context().get(), req, &out);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
    EXPECT_EQ(ErrorInfoOf(st).reason(), "CREDENTIALS_ALREADY_EXIST");
    EXPECT_EQ(h_->emulator().GetStored(kUserA)->Field("refreshToken"), "second-refresh-token-0002");
  }
}

TEST_F(ServiceTest, StatusChangesAreReportedAndUnknownStatusesKeptRaw) {
  h_->Create(kUserA);
  v1::GetCredentialsRequest get;
  get.set_leaf_user_id(kUserA);
  v1::Credentials got;
  ASSERT_TRUE(h_->emulator().SetCredentialStatus(kUserA, "UNAUTHENTICATED"));
  ASSERT_TRUE(h_->stub().GetCredentials(Harness::Context().get(), get, &got).ok());
  EXPECT_EQ(got.status(), v1::CREDENTIAL_STATUS_UNAUTHENTICATED);

  ASSERT_TRUE(h_->emulator().SetCredentialStatus(kUserA, "SOME_FUTURE_STATUS"));
  ASSERT_TRUE(h_->stub().GetCredentials(Harness::Context().get(), get, &got).ok());
  EXPECT_EQ(got.status(), v1::CREDENTIAL_STATUS_UNSPECIFIED);
  EXPECT_EQ(got.leaf_status(), "SOME_FUTURE_STATUS");
}

TEST_F(ServiceTest, ListEventsPagesNewestFirstWithOpaqueTokens) {
  h_->Create(kUserA);
  for (int i = 0; i < 6; ++i) {
    leafemu::StoredEvent e;
    e.id = "evt-" + std::to_string(i);
    e.created_date = "2024-01-0" + std::to_string(i + 1) + "T00:00:00.5Z";
    e.status_code = 200 + i;
    e.headers = "X-Test: " + std::to_string(i);
    e.body = "{}";
    ASSERT_TRUE(h_->emulator().AddEvent(kUserA, e));
  }
  const size_t total = h_->emulator().GetEvents(kUserA).size();
  ASSERT_GE(total, 7u);  // the create's own event plus six

  v1::ListCredentialEventsRequest list;
  list.set_leaf_user_id(kUserA);
  list.set_page_size(3);
  std::vector<v1::CredentialEvent> all;
  for (int page = 0; page < 10; ++page) {
    v1::ListCredentialEventsResponse resp;
    grpc::Status st = h_->stub().ListCredentialEvents(Harness::Context().get(), list, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_LE(resp.events_size(), 3);
    for (const auto& e : resp.events()) all.push_back(e);
    if (resp.next_page_token().empty()) break;
    list.set_page_token(resp.next_page_token());
  }
  ASSERT_EQ(all.size(), total);
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_GE(all[i - 1].create_time().seconds(), all[i].create_time().seconds());
  }
  const auto& oldest = all.back();
  EXPECT_EQ(oldest.id(), "evt-0");
  EXPECT_EQ(oldest.status_code(), 200);
  EXPECT_EQ(oldest.headers(), "X-Test: 0");
  EXPECT_EQ(oldest.create_time().nanos(), 500000000);
  EXPECT_EQ(oldest.name(), std::string("users/") + kUserA + "/agLeaderCredentials/events/evt-0");
}

TEST_F(ServiceTest, TamperedPageTokenIsInvalidArgument) {
  h_->Create(kUserA);
  for (int i = 0; i < 3; ++i) {
    leafemu::StoredEvent e;
    e.id = "e" + std::to_string(i);
    e.created_date = "2024-01-01T00:00:0" + std::to_string(i) + "Z";
    h_->emulator().AddEvent(kUserA, e);
  }
  v1::ListCredentialEventsRequest list;
  list.set_leaf_user_id(kUserA);
  list.set_page_size(1);
  v1::ListCredentialEventsResponse resp;
  ASSERT_TRUE(h_->stub().ListCredentialEvents(Harness::Context().get(), list, &resp).ok());
  std::string token = resp.next_page_token();
  ASSERT_FALSE(token.empty());
  token[token.size() / 2] = token[token.size() / 2] == 'A' ? 'B' : 'A';
  list.set_page_token(token);
  grpc::Status st = h_->stub().ListCredentialEvents(Harness::Context().get(), list, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorInfoOf(st).reason(), "INVALID_PAGE_TOKEN");

  list.set_page_token(resp.next_page_token());
  list.set_leaf_user_id(kUserB);  // a token is bound to its user
  st = h_->stub().ListCredentialEvents(Harness::Context().get(), list, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServiceTest, EventsOfAUserWithoutCredentialsIsNotFound) {
  v1::ListCredentialEventsRequest list;
  list.set_leaf_user_id(kUserA);
  v1::ListCredentialEventsResponse resp;
  grpc::Status st = h_->stub().ListCredentialEvents(Harness::Context().get(), list, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServiceTest, HealthReportsServing) {
  auto health = grpc::health::v1::Health::NewStub(h_->channel());
  for (const char* service : {"", "leaf.agleader.v1.AgLeaderCredentials"}) {
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    grpc::health::v1::HealthCheckResponse resp;
    ASSERT_TRUE(health->Check(Harness::Context().get(), req, &resp).ok());
    EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  }
}

TEST_F(ServiceTest, OversizedRequestMessageIsRejectedByGrpc) {
  v1::CreateCredentialsRequest req;
  req.set_leaf_user_id(kUserA);
  req.set_refresh_token(std::string(kMaxRequestBytes + 1, 'x'));
  req.set_public_key("p");
  req.set_private_key("k");
  v1::Credentials out;
  grpc::Status st = h_->stub().CreateCredentials(Harness::Context().get(), req, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(h_->emulator().Requests().empty());
}

}  // namespace
}  // namespace leafsvc::testing
