// The connect flow against fakes (connect_service_fixture.h): links, the
// authorize URL, the happy path, PKCE, deny, every authorization and token
// error, unknown links. Callbacks that must be refused and Leaf's answers
// are in connect_service_callback_test.cc.
#include "tests/connect/connect_service_fixture.h"

namespace leafsvc::connect {
namespace service_test {
namespace {

TEST_F(ConnectServiceTest, CreateLinkMakesAPendingLinkWithItsUrl) {
  const ConnectLink l = NewLink();
  EXPECT_TRUE(IsWellFormedToken(l.id, kLinkIdBytes));
  EXPECT_EQ(l.leaf_user_id, kUser);
  EXPECT_EQ(l.state, LinkState::kPending);
  EXPECT_EQ(l.return_url, "https://app.example/back/done");
  EXPECT_EQ(l.expire_time - l.create_time, absl::Hours(24 * 7));
  EXPECT_EQ(service_->UrlOf(l), "https://connect.example.com/connect/" + l.id);
  EXPECT_EQ(NewLink(absl::Minutes(5)).expire_time, clock_.Now() + absl::Minutes(5));
  EXPECT_NE(NewLink().id, l.id);
}

TEST_F(ConnectServiceTest, CreateLinkValidatesTtlAndReturnUrl) {
  for (absl::Duration ttl : {absl::Seconds(59), absl::Hours(24 * 30) + absl::Seconds(1),
                             -absl::Hours(1), absl::ZeroDuration()}) {
    std::optional<absl::StatusOr<ConnectLink>> got;
    service_->CreateLink(kUser, "", ttl, [&](auto r) { got = std::move(r); });
    ASSERT_TRUE(got.has_value());
    const StatusDetails d = GetStatusDetails(got->status());
    EXPECT_EQ(d.reason, "INVALID_REQUEST");
    ASSERT_EQ(d.field_violations.size(), 1u);
    EXPECT_EQ(d.field_violations[0].field, "ttl");
  }
  std::optional<absl::StatusOr<ConnectLink>> got;
  service_->CreateLink(kUser, "https://app.example/backdoor", std::nullopt,
                       [&](auto r) { got = std::move(r); });
  EXPECT_EQ(GetStatusDetails(got->status()).reason, "CONNECT_RETURN_URL_NOT_ALLOWED");
  service_->CreateLink(kUser, "", absl::Hours(24 * 30), [&](auto r) { got = std::move(r); });
  EXPECT_TRUE(got->ok());
}

TEST_F(ConnectServiceTest, StartAttemptBuildsAgFinitisAuthorizeUrl) {
  const ConnectLink l = NewLink();
  absl::StatusOr<AttemptStart> a = Start(l.id);
  ASSERT_TRUE(a.ok()) << a.status();
  const std::string state = Param(a->authorize_url, "state");
  EXPECT_TRUE(IsWellFormedToken(state, kStateBytes));
  EXPECT_EQ(a->authorize_url,
            "https://agfiniti.test/Account/Authorize?response_type=code&client_id=public-key-1"
            "&redirect_uri=https%3A%2F%2Fconnect.example.com%2Fagleader%2Fcallback"
            "&scope=read%20readwrite&state=" +
                state);
  EXPECT_TRUE(IsWellFormedToken(a->browser_binding, kStateBytes));
  EXPECT_EQ(a->expire_time, clock_.Now() + absl::Minutes(15));
  // Only hashes are stored: the raw state is no key of the store.
  EXPECT_EQ(testing::TakeNow(store_, state).status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(Param(Start(l.id)->authorize_url, "state"), state);
}

TEST_F(ConnectServiceTest, HappyPathConnectsTheLinkAndTellsTheWatchers) {
  const ConnectLink l = NewLink();
  absl::StatusOr<AttemptStart> a = Start(l.id);
  ASSERT_TRUE(a.ok());
  Complete(Callback(*a));
  ASSERT_EQ(agfiniti_.requests().size(), 1u);
  EXPECT_TRUE(absl::StrContains(agfiniti_.requests()[0].body, std::string("code=") + kCode));
  EXPECT_FALSE(absl::StrContains(agfiniti_.requests()[0].body, "code_verifier"));
  ASSERT_TRUE(agfiniti_.Respond(200, TokenAnswer()));

  ASSERT_EQ(leaf_http_.requests().size(), 1u);
  const http::HttpRequest post = leaf_http_.requests()[0];
  EXPECT_EQ(post.method, "POST");
  EXPECT_TRUE(
      absl::StrContains(post.url, std::string("/users/") + kUser + "/ag-leader-credentials"));
  EXPECT_TRUE(absl::StrContains(post.body, std::string("\"refreshToken\":\"") + kRefresh + "\""));
  EXPECT_TRUE(absl::StrContains(post.body, "\"publicKey\":\"public-key-1\""));
  EXPECT_TRUE(absl::StrContains(post.body, std::string("\"privateKey\":\"") + kPrivate + "\""));
  EXPECT_GT(post.deadline, absl::Now());
  EXPECT_LT(post.deadline, absl::Now() + absl::Seconds(11));
  EXPECT_FALSE(result_.has_value());
  ASSERT_TRUE(leaf_http_.Respond(201, kCredsJson));

  absl::StatusOr<ConnectLink> done = Result();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->state, LinkState::kConnected);
  EXPECT_EQ(done->credentials_id, "cred-1");
  EXPECT_EQ(done->error_reason, "");
  ASSERT_EQ(connected_.size(), 1u);
  EXPECT_EQ(connected_[0].id, l.id);
  EXPECT_EQ(Get(l.id)->state, LinkState::kConnected);
}

TEST_F(ConnectServiceTest, PkceSendsAChallengeAndItsVerifier) {
  Rebuild(/*pkce=*/true);
  const ConnectLink l = NewLink();
  absl::StatusOr<AttemptStart> a = Start(l.id);
  ASSERT_TRUE(a.ok());
  const std::string challenge = Param(a->authorize_url, "code_challenge");
  EXPECT_EQ(Param(a->authorize_url, "code_challenge_method"), "S256");
  EXPECT_EQ(challenge.size(), 43u);
  Complete(Callback(*a));
  const std::string verifier = Param("?" + agfiniti_.requests().at(0).body, "code_verifier");
  EXPECT_EQ(PkceChallenge(verifier), challenge);
  ASSERT_TRUE(agfiniti_.Respond(200, TokenAnswer()));
  ASSERT_TRUE(leaf_http_.Respond(201, kCredsJson));
  EXPECT_TRUE(Result().ok());
}

TEST_F(ConnectServiceTest, DenyMarksTheLinkDeniedAndItCanBeTriedAgain) {
  const ConnectLink l = NewLink();
  absl::StatusOr<AttemptStart> a = Start(l.id);
  CallbackParams p = Callback(*a, "");
  p.error = "access_denied";
  Complete(p);
  absl::StatusOr<ConnectLink> r = Result();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state, LinkState::kDenied);
  EXPECT_EQ(r->error_reason, "CONNECT_CONSENT_DENIED");
  EXPECT_FALSE(r->error_message.empty());
  EXPECT_EQ(agfiniti_.requests().size(), 0u);
  EXPECT_EQ(leaf_http_.requests().size(), 0u);
  EXPECT_TRUE(connected_.empty());
  // The grower changes their mind.
  absl::StatusOr<ConnectLink> c = Connect(l.id);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->state, LinkState::kConnected);
  EXPECT_EQ(c->error_reason, "");
}

TEST_F(ConnectServiceTest, AnotherAuthorizationErrorFailsTheLink) {
  const ConnectLink l = NewLink();
  absl::StatusOr<AttemptStart> a = Start(l.id);
  CallbackParams p = Callback(*a, "");
  p.error = "invalid_scope";
  Complete(p);
  absl::StatusOr<ConnectLink> r = Result();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, LinkState::kFailed);
  EXPECT_EQ(r->error_reason, "AGFINITI_AUTHORIZATION_FAILED");
  EXPECT_TRUE(absl::StrContains(r->error_message, "invalid_scope"));

  // Neither a code nor an error: failed too, and a hostile error is not quoted.
  a = Start(l.id);
  p = Callback(*a, "");
  p.error = "<script>x</script>";
  Complete(p);
  r = Result();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->error_reason, "AGFINITI_AUTHORIZATION_FAILED");
  EXPECT_FALSE(absl::StrContains(r->error_message, "<script>"));
  a = Start(l.id);
  Complete(Callback(*a, ""));
  EXPECT_EQ(Result()->error_reason, "AGFINITI_AUTHORIZATION_FAILED");
  // An oversized code is not sent anywhere.
  a = Start(l.id);
  Complete(Callback(*a, std::string(1 << 20, 'c')));
  EXPECT_EQ(Result()->error_reason, "AGFINITI_AUTHORIZATION_FAILED");
  EXPECT_EQ(agfiniti_.requests().size(), 0u);
}

TEST_F(ConnectServiceTest, EveryTokenErrorFailsTheLinkWithItsReason) {
  const ConnectLink l = NewLink();
  const std::vector<std::pair<std::pair<int, std::string>, std::string>> cases = {
      {{400, R"({"error":"invalid_grant","error_description":"expired"})"},
       "AGFINITI_CODE_REJECTED"},
      {{401, R"({"error":"invalid_client"})"}, "AGFINITI_CLIENT_REJECTED"},
      {{400, R"({"error":"unauthorized_client"})"}, "AGFINITI_CLIENT_REJECTED"},
      {{400, R"({"error":"invalid_request"})"}, "AGFINITI_REQUEST_REJECTED"},
      {{400, R"({"error":"unsupported_grant_type"})"}, "AGFINITI_REQUEST_REJECTED"},
      {{400, R"({"error":"invalid_scope"})"}, "AGFINITI_REQUEST_REJECTED"},
      {{400, R"({"error":"weird"})"}, "AGFINITI_REQUEST_REJECTED"},
      {{502, "bad gateway"}, "AGFINITI_UNAVAILABLE"},
      {{200, "<html>"}, "AGFINITI_UNAVAILABLE"},
      {{200, R"({"access_token":"x"})"}, "AGFINITI_UNAVAILABLE"},
      {{400,
        std::string(R"({"error":"invalid_grant","error_description":"code )") + kCode + R"("})"},
       "AGFINITI_CODE_REJECTED"},
  };
  for (const auto& [answer, reason] : cases) {
    absl::StatusOr<AttemptStart> a = Start(l.id);
    ASSERT_TRUE(a.ok()) << a.status();
    Complete(Callback(*a));
    ASSERT_TRUE(agfiniti_.Respond(answer.first, answer.second));
    absl::StatusOr<ConnectLink> r = Result();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->state, LinkState::kFailed);
    EXPECT_EQ(r->error_reason, reason) << answer.second;
  }
  // A timeout of AgFiniti.
  absl::StatusOr<AttemptStart> a = Start(l.id);
  Complete(Callback(*a));
  ASSERT_TRUE(
      agfiniti_.Respond(absl::StatusOr<http::HttpResponse>(absl::DeadlineExceededError("t"))));
  EXPECT_EQ(Result()->error_reason, "AGFINITI_UNAVAILABLE");
  EXPECT_EQ(leaf_http_.requests().size(), 0u);
  EXPECT_TRUE(connected_.empty());
}

TEST_F(ConnectServiceTest, UnknownLinksAreNotFound) {
  for (std::string id : {std::string("AAAAAAAAAAAAAAAAAAAAAA"), std::string("short"),
                         std::string("{x}"), std::string(5000, 'a'), std::string("")}) {
    EXPECT_EQ(GetStatusDetails(Get(id).status()).reason, "CONNECT_LINK_NOT_FOUND") << id;
    EXPECT_EQ(GetStatusDetails(Start(id).status()).reason, "CONNECT_LINK_NOT_FOUND") << id;
  }
}

}  // namespace
}  // namespace service_test
}  // namespace leafsvc::connect
