// The connect flow end to end against fakes: AgFiniti's token endpoint is a
// fake HttpClient, Leaf a real LeafClient over another fake HttpClient, the
// links in memory. Happy path, deny, every token error, replayed, tampered
// and foreign states, expiry, a connected link, Leaf's "already exists"
// (DELETE then POST) and Leaf failing, and a scan for secrets.
#include "server/connect/connect_service.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "server/connect/memory_link_store.h"
#include "server/connect/oauth_state.h"
#include "server/errors/status_details.h"
#include "server/providers/agleader/agleader_spec.h"
#include "tests/connect/store_sync.h"
#include "tests/leaf/fake_http_client.h"
#include "tests/leaf/test_token_sources.h"

namespace leafsvc::connect {
namespace {

using ::leafsvc::testing::CountingTokenSource;
using ::leafsvc::testing::FakeHttpClient;
using ::leafsvc::testing::HeaderOf;

constexpr char kUser[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
constexpr char kCode[] = "the-code-Qx7Zk2mN9pL4wR8t";
constexpr char kRefresh[] = "refresh-token-Hj3Kd9sLq2Zx";
constexpr char kAccess[] = "access-token-Pw5Nb7cVt1Ym";
constexpr char kPrivate[] = "private-key-Rt6Yu8Io0Pa2";
constexpr char kCredsJson[] =
    R"({"id":"cred-1","status":"OK","refreshToken":"refresh-token-Hj3Kd9sLq2Zx",)"
    R"("publicKey":"public-key-1","privateKey":"private-key-Rt6Yu8Io0Pa2"})";

std::string TokenAnswer() {
  return std::string(R"({"access_token":")") + kAccess + R"(","refresh_token":")" + kRefresh +
         R"(","expires_in":3600,"token_type":"bearer"})";
}

// The value of query parameter `name` in `url` (raw).
std::string Param(const std::string& url, const std::string& name) {
  size_t p = url.find("?" + name + "=");
  if (p == std::string::npos) p = url.find("&" + name + "=");
  if (p == std::string::npos) return "";
  p += name.size() + 2;
  return url.substr(p, url.find('&', p) - p);
}

leaf::LeafClientOptions NoRetries() {
  leaf::LeafClientOptions o;
  o.retry.max_attempts = 1;
  return o;
}

class ConnectServiceTest : public ::testing::Test {
 protected:
  ConnectServiceTest()
      : store_(StoreOptions()),
        leaf_client_(&leaf_http_, &tokens_,
                     leaf::LeafEndpoints("http://leaf", providers::AgLeaderSpec()), NoRetries()) {
    Rebuild(/*pkce=*/false);
  }

  MemoryLinkStoreOptions StoreOptions() {
    MemoryLinkStoreOptions o;
    o.clock = clock_.Fn();
    return o;
  }

  void Rebuild(bool pkce) {
    ConnectOptions o;
    o.public_key = "public-key-1";
    o.private_key = Secret(kPrivate);
    o.authorize_url = "https://agfiniti.test/Account/Authorize";
    o.token_url = "http://127.0.0.1:1/api/token";
    o.public_url = "https://connect.example.com";
    o.return_url_allow = {"https://app.example/back"};
    o.pkce = pkce;
    service_ =
        std::make_unique<ConnectService>(o, &store_, &agfiniti_, &leaf_client_, clock_.Fn(),
                                         [this](const ConnectLink& l) { connected_.push_back(l); });
  }

  ConnectLink NewLink(std::optional<absl::Duration> ttl = std::nullopt) {
    std::optional<absl::StatusOr<ConnectLink>> got;
    service_->CreateLink(kUser, "https://app.example/back/done", ttl,
                         [&](absl::StatusOr<ConnectLink> r) { got = std::move(r); });
    EXPECT_TRUE(got.has_value() && got->ok());
    Remember(got->status());
    return got->ok() ? **got : ConnectLink{};
  }

  absl::StatusOr<AttemptStart> Start(const std::string& id) {
    std::optional<absl::StatusOr<AttemptStart>> got;
    service_->StartAttempt(id, [&](absl::StatusOr<AttemptStart> r) { got = std::move(r); });
    EXPECT_TRUE(got.has_value());
    Remember(got->status());
    return *got;
  }

  // Starts Complete; answer AgFiniti and Leaf with the fakes, then read.
  void Complete(CallbackParams p) {
    result_.reset();
    service_->Complete(std::move(p),
                       [&](absl::StatusOr<ConnectLink> r) { result_ = std::move(r); });
  }
  absl::StatusOr<ConnectLink> Result() {
    EXPECT_TRUE(result_.has_value());
    if (!result_.has_value()) return absl::InternalError("no answer");
    Remember(result_->status());
    if (result_->ok()) Remember(**result_);
    return *result_;
  }
  CallbackParams Callback(const AttemptStart& a, std::string code = kCode) {
    CallbackParams p;
    p.state = Param(a.authorize_url, "state");
    p.code = std::move(code);
    p.browser_binding = a.browser_binding;
    return p;
  }
  absl::StatusOr<ConnectLink> Get(const std::string& id) {
    std::optional<absl::StatusOr<ConnectLink>> got;
    service_->GetLink(id, [&](absl::StatusOr<ConnectLink> r) { got = std::move(r); });
    EXPECT_TRUE(got.has_value());
    Remember(got->status());
    if (got->ok()) Remember(**got);
    return *got;
  }
  // Runs a whole successful completion of a fresh attempt on `id`.
  absl::StatusOr<ConnectLink> Connect(const std::string& id) {
    absl::StatusOr<AttemptStart> a = Start(id);
    if (!a.ok()) return a.status();
    Complete(Callback(*a));
    EXPECT_TRUE(agfiniti_.Respond(200, TokenAnswer()));
    EXPECT_TRUE(leaf_http_.Respond(201, kCredsJson));
    return Result();
  }

  // Everything the service said, for the final scan.
  void Remember(const absl::Status& s) {
    if (s.ok()) return;
    said_.push_back(std::string(s.message()));
    StatusDetails d = GetStatusDetails(s);
    for (const auto& [k, v] : d.metadata) said_.push_back(v);
    for (const auto& v : d.field_violations) said_.push_back(v.description);
  }
  void Remember(const ConnectLink& l) {
    for (const std::string* f : {&l.id, &l.leaf_user_id, &l.return_url, &l.error_reason,
                                 &l.error_message, &l.credentials_id}) {
      said_.push_back(*f);
    }
  }

  void TearDown() override {
    for (const std::string& text : said_) {
      for (const char* secret : {kCode, kRefresh, kAccess, kPrivate, "Qx7Zk2mN", "Hj3Kd9sL"}) {
        EXPECT_FALSE(absl::StrContains(text, secret)) << "leaked in: " << text;
      }
    }
  }

  testing::FakeClock clock_;
  MemoryLinkStore store_;
  FakeHttpClient agfiniti_;
  FakeHttpClient leaf_http_;
  CountingTokenSource tokens_;
  leaf::LeafClient leaf_client_;
  std::unique_ptr<ConnectService> service_;
  std::vector<ConnectLink> connected_;
  std::optional<absl::StatusOr<ConnectLink>> result_;
  std::vector<std::string> said_;
};

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

TEST_F(ConnectServiceTest, ReplayedStateIsRefusedAndChangesNothing) {
  const ConnectLink l = NewLink();
  absl::StatusOr<AttemptStart> a = Start(l.id);
  CallbackParams p = Callback(*a, "");
  p.error = "access_denied";
  Complete(p);
  ASSERT_EQ(Result()->state, LinkState::kDenied);
  // The same callback again, this time with a code.
  p.error.clear();
  p.code = kCode;
  Complete(p);
  absl::StatusOr<ConnectLink> r = Result();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GetStatusDetails(r.status()).reason, "CONNECT_STATE_INVALID");
  EXPECT_EQ(agfiniti_.requests().size(), 0u);
  EXPECT_EQ(Get(l.id)->state, LinkState::kDenied);
}

TEST_F(ConnectServiceTest, TamperedOrHostileStatesAreRefused) {
  const ConnectLink l = NewLink();
  absl::StatusOr<AttemptStart> a = Start(l.id);
  CallbackParams good = Callback(*a);
  for (std::string state :
       {good.state.substr(0, 42) + (good.state[42] == 'A' ? "B" : "A"), good.state + "A",
        good.state.substr(1), std::string(""), std::string(100000, 'a'), good.state + "\n",
        std::string("../../etc/passwd"), HashToken(good.state)}) {
    CallbackParams p = good;
    p.state = state;
    Complete(p);
    EXPECT_EQ(GetStatusDetails(Result().status()).reason, "CONNECT_STATE_INVALID");
  }
  EXPECT_EQ(agfiniti_.requests().size(), 0u);
  EXPECT_EQ(Get(l.id)->state, LinkState::kPending);
  // The genuine callback still completes.
  Complete(good);
  ASSERT_TRUE(agfiniti_.Respond(200, TokenAnswer()));
  ASSERT_TRUE(leaf_http_.Respond(201, kCredsJson));
  EXPECT_EQ(Result()->state, LinkState::kConnected);
}

TEST_F(ConnectServiceTest, AStateFromAnotherBrowserIsRefused) {
  const ConnectLink l = NewLink();
  absl::StatusOr<AttemptStart> a = Start(l.id);
  absl::StatusOr<AttemptStart> other = Start(l.id);
  for (std::string binding : {other->browser_binding, std::string(""), std::string(1 << 20, 'a'),
                              a->browser_binding + "x", HashToken(a->browser_binding)}) {
    absl::StatusOr<AttemptStart> fresh = Start(l.id);
    CallbackParams p = Callback(*fresh);
    p.browser_binding = binding;
    Complete(p);
    EXPECT_EQ(GetStatusDetails(Result().status()).reason, "CONNECT_STATE_INVALID");
  }
  EXPECT_EQ(agfiniti_.requests().size(), 0u);
  EXPECT_EQ(Get(l.id)->state, LinkState::kPending);
}

TEST_F(ConnectServiceTest, AnExpiredAttemptIsRefused) {
  const ConnectLink l = NewLink();
  absl::StatusOr<AttemptStart> a = Start(l.id);
  clock_.Advance(absl::Minutes(15));
  Complete(Callback(*a));
  EXPECT_EQ(GetStatusDetails(Result().status()).reason, "CONNECT_STATE_INVALID");
  EXPECT_EQ(agfiniti_.requests().size(), 0u);
  EXPECT_EQ(Get(l.id)->state, LinkState::kPending);
}

TEST_F(ConnectServiceTest, AnExpiredLinkTakesNoAttemptAndNoCallback) {
  const ConnectLink l = NewLink(absl::Minutes(5));
  absl::StatusOr<AttemptStart> a = Start(l.id);
  ASSERT_TRUE(a.ok());
  clock_.Advance(absl::Minutes(6));  // the attempt's 15 minutes are not over
  EXPECT_EQ(GetStatusDetails(Start(l.id).status()).reason, "CONNECT_LINK_EXPIRED");
  Complete(Callback(*a));
  absl::StatusOr<ConnectLink> r = Result();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(GetStatusDetails(r.status()).reason, "CONNECT_LINK_EXPIRED");
  EXPECT_EQ(agfiniti_.requests().size(), 0u);
  EXPECT_EQ(Get(l.id)->StateAt(clock_.Now()), LinkState::kExpired);
}

TEST_F(ConnectServiceTest, AConnectedLinkIsNeverChangedByALateAttempt) {
  const ConnectLink l = NewLink();
  absl::StatusOr<AttemptStart> late = Start(l.id);
  ASSERT_TRUE(Connect(l.id).ok());
  EXPECT_EQ(GetStatusDetails(Start(l.id).status()).reason, "CONNECT_LINK_ALREADY_USED");
  // A late deny and a late code: the link stays connected, nothing is sent.
  CallbackParams p = Callback(*late);
  p.error = "access_denied";
  Complete(p);
  absl::StatusOr<ConnectLink> r = Result();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, LinkState::kConnected);
  EXPECT_EQ(r->credentials_id, "cred-1");
  EXPECT_EQ(agfiniti_.requests().size(), 1u);
  EXPECT_EQ(leaf_http_.requests().size(), 1u);
  EXPECT_EQ(connected_.size(), 1u);
}

TEST_F(ConnectServiceTest, RacingAttemptsConnectOnce) {
  const ConnectLink l = NewLink();
  absl::StatusOr<AttemptStart> a = Start(l.id);
  absl::StatusOr<AttemptStart> b = Start(l.id);
  std::optional<absl::StatusOr<ConnectLink>> ra;
  std::optional<absl::StatusOr<ConnectLink>> rb;
  service_->Complete(Callback(*a), [&](auto r) { ra = std::move(r); });
  service_->Complete(Callback(*b), [&](auto r) { rb = std::move(r); });
  ASSERT_TRUE(agfiniti_.Respond(200, TokenAnswer()));
  ASSERT_TRUE(agfiniti_.Respond(200, TokenAnswer()));
  ASSERT_TRUE(leaf_http_.Respond(201, kCredsJson));
  ASSERT_TRUE(leaf_http_.Respond(201, R"({"id":"cred-2","status":"OK"})"));
  ASSERT_TRUE(ra.has_value() && rb.has_value());
  EXPECT_EQ((*ra)->credentials_id, "cred-1");
  EXPECT_EQ((*rb)->credentials_id, "cred-1");  // the link as it is: the first one won
  EXPECT_EQ(connected_.size(), 1u);
}

TEST_F(ConnectServiceTest, LeafAlreadyHavingCredentialsIsReplaced) {
  const ConnectLink l = NewLink();
  absl::StatusOr<AttemptStart> a = Start(l.id);
  Complete(Callback(*a));
  ASSERT_TRUE(agfiniti_.Respond(200, TokenAnswer()));
  ASSERT_TRUE(leaf_http_.Respond(409, R"({"title":"Conflict","status":409})"));
  ASSERT_EQ(leaf_http_.requests().size(), 2u);
  EXPECT_EQ(leaf_http_.requests()[1].method, "DELETE");
  ASSERT_TRUE(leaf_http_.Respond(204));
  ASSERT_EQ(leaf_http_.requests().size(), 3u);
  EXPECT_EQ(leaf_http_.requests()[2].method, "POST");
  EXPECT_TRUE(absl::StrContains(leaf_http_.requests()[2].body, kRefresh));
  ASSERT_TRUE(leaf_http_.Respond(201, kCredsJson));
  absl::StatusOr<ConnectLink> r = Result();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, LinkState::kConnected);
  EXPECT_EQ(connected_.size(), 1u);
}

TEST_F(ConnectServiceTest, ASecondAlreadyExistsIsNotLooped) {
  const ConnectLink l = NewLink();
  absl::StatusOr<AttemptStart> a = Start(l.id);
  Complete(Callback(*a));
  ASSERT_TRUE(agfiniti_.Respond(200, TokenAnswer()));
  ASSERT_TRUE(leaf_http_.Respond(409, "{}"));
  ASSERT_TRUE(leaf_http_.Respond(204));
  ASSERT_TRUE(leaf_http_.Respond(409, "{}"));
  EXPECT_EQ(leaf_http_.pending(), 0u);
  absl::StatusOr<ConnectLink> r = Result();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, LinkState::kFailed);
  EXPECT_EQ(r->error_reason, "CREDENTIALS_ALREADY_EXIST");
}

TEST_F(ConnectServiceTest, LeafFailingFailsTheLinkWithLeafsReason) {
  const ConnectLink l = NewLink();
  const std::vector<std::pair<int, std::string>> cases = {
      {500, "LEAF_UNAVAILABLE"}, {400, "LEAF_REJECTED_REQUEST"}, {403, "LEAF_PERMISSION_DENIED"}};
  for (const auto& [status, reason] : cases) {
    absl::StatusOr<AttemptStart> a = Start(l.id);
    Complete(Callback(*a));
    ASSERT_TRUE(agfiniti_.Respond(200, TokenAnswer()));
    // Leaf quoting the refresh token back must not leak it.
    ASSERT_TRUE(leaf_http_.Respond(
        status, std::string(R"({"title":"refused refresh token )") + kRefresh + R"("})"));
    absl::StatusOr<ConnectLink> r = Result();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->state, LinkState::kFailed);
    EXPECT_EQ(r->error_reason, reason);
  }
  // The delete failing while replacing.
  absl::StatusOr<AttemptStart> a = Start(l.id);
  Complete(Callback(*a));
  ASSERT_TRUE(agfiniti_.Respond(200, TokenAnswer()));
  ASSERT_TRUE(leaf_http_.Respond(409, "{}"));
  ASSERT_TRUE(leaf_http_.Respond(503, "{}"));
  EXPECT_EQ(Result()->error_reason, "LEAF_UNAVAILABLE");
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
}  // namespace leafsvc::connect
