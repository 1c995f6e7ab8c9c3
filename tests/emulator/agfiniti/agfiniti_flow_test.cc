// The AgFiniti flow through the emulator's real HTTP server: the pages as a
// browser walks them, the token endpoint as a client calls it, and the Leaf
// side reacting to revocation.
#include <httplib.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "emulator/agfiniti/pkce.h"
#include "emulator/leaf_emulator.h"
#include "gtest/gtest.h"

namespace leafemu {
namespace {

constexpr char kPub[] = "pub-key";
constexpr char kPriv[] = "priv-key";
constexpr char kRedirect[] = "http://127.0.0.1:9/agleader/callback";
constexpr char kLeafUser[] = "5a0f2b7e-1c3d-4e5f-8a9b-0c1d2e3f4a5b";
constexpr char kToken[] = "static";
constexpr char kVerifier[] = "abcdefghijklmnopqrstuvwxyz0123456789-._~ABCDEFG";

std::string Enc(const std::string& s) { return httplib::detail::encode_query_param(s); }

std::string Hidden(const std::string& html) {
  std::smatch m;
  if (std::regex_search(html, m, std::regex("name=\"request_id\" value=\"([0-9a-f]+)\""))) {
    return m[1];
  }
  return "";
}

std::string QueryValue(const std::string& location, const std::string& name) {
  std::smatch m;
  if (std::regex_search(location, m, std::regex("[?&]" + name + "=([^&]*)"))) return m[1];
  return "";
}

class AgFinitiFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EmulatorOptions o;
    o.static_tokens.push_back(kToken);
    o.agfiniti.apps.push_back({kPub, kPriv, "Leaf <connector>", {kRedirect}});
    o.agfiniti.growers["grower@farm"] = "pw";
    auto started = LeafEmulator::Start(std::move(o));
    ASSERT_TRUE(started.ok()) << started.status();
    emu_ = std::move(*started);
  }

  std::unique_ptr<httplib::Client> Client() {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", emu_->port());
    c->set_read_timeout(5, 0);
    return c;
  }

  httplib::Result Authorize(const std::string& query) {
    return Client()->Get("/agfiniti/Account/Authorize?" + query);
  }
  std::string DefaultQuery(const std::string& extra = "") {
    return absl::StrCat("response_type=code&client_id=", kPub, "&redirect_uri=", Enc(kRedirect),
                        "&scope=read%20readwrite&state=st-1", extra);
  }
  httplib::Result PostForm(const std::string& path, const std::string& body,
                           const httplib::Headers& headers = {}) {
    return Client()->Post(path, headers, body, "application/x-www-form-urlencoded");
  }
  // Authorize, sign in, and Allow (or Deny); the consent's redirect.
  httplib::Result Walk(bool allow, const std::string& extra = "") {
    auto page = Authorize(DefaultQuery(extra));
    EXPECT_TRUE(page && page->status == 200);
    auto consent = PostForm("/agfiniti/Account/SignIn", "request_id=" + Hidden(page->body) +
                                                            "&username=grower%40farm&password=pw");
    EXPECT_TRUE(consent && consent->status == 200);
    EXPECT_TRUE(absl::StrContains(consent->body, "id=\"allow\""));
    return PostForm("/agfiniti/Account/Consent", "request_id=" + Hidden(consent->body) +
                                                     "&decision=" + (allow ? "allow" : "deny"));
  }
  httplib::Result Token(const std::string& body, const std::string& user = kPub,
                        const std::string& pass = kPriv) {
    auto c = Client();
    c->set_basic_auth(user, pass);
    return c->Post("/agfiniti/api/token", body, "application/x-www-form-urlencoded");
  }
  std::string CodeBody(const std::string& code) {
    return "grant_type=authorization_code&code=" + code + "&redirect_uri=" + Enc(kRedirect);
  }
  httplib::Result PostLeaf(const std::string& refresh_token) {
    return Client()->Post(
        absl::StrCat("/services/usermanagement/api/users/", kLeafUser, "/ag-leader-credentials"),
        {{"Authorization", absl::StrCat("Bearer ", kToken)}},
        absl::StrCat(R"({"refreshToken":")", refresh_token, R"(","publicKey":")", kPub,
                     R"(","privateKey":")", kPriv, R"("})"),
        "application/json");
  }

  std::unique_ptr<LeafEmulator> emu_;
};

TEST_F(AgFinitiFlowTest, AllowGivesCodeThatExchangesForTokens) {
  auto redirect = Walk(true);
  ASSERT_TRUE(redirect);
  ASSERT_EQ(redirect->status, 302);
  const std::string location = redirect->get_header_value("Location");
  EXPECT_TRUE(absl::StartsWith(location, std::string(kRedirect) + "?code=")) << location;
  EXPECT_EQ(QueryValue(location, "state"), "st-1");
  auto token = Token(CodeBody(QueryValue(location, "code")));
  ASSERT_TRUE(token);
  EXPECT_EQ(token->status, 200) << token->body;
  EXPECT_EQ(token->get_header_value("Cache-Control"), "no-store");
  EXPECT_TRUE(absl::StrContains(token->body, "\"token_type\":\"bearer\""));
  EXPECT_TRUE(absl::StrContains(token->body, "\"scope\":\"read readwrite\""));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(token->body, m, std::regex("\"refresh_token\":\"([0-9a-f]+)\"")));
  EXPECT_TRUE(emu_->IsLiveAgFinitiRefreshToken(m[1]));
  // The page named the app, escaped; the request log keeps no secrets.
  for (const RecordedRequest& r : emu_->Requests()) {
    EXPECT_FALSE(absl::StrContains(r.body, "pw")) << r.path;
    EXPECT_EQ(r.headers.count("authorization"), 0u) << r.path;
  }
  EXPECT_EQ(emu_->AgFinitiCounters().codes_redeemed, 1);
}

TEST_F(AgFinitiFlowTest, DenyRedirectsWithAccessDenied) {
  auto redirect = Walk(false);
  ASSERT_TRUE(redirect);
  ASSERT_EQ(redirect->status, 302);
  const std::string location = redirect->get_header_value("Location");
  EXPECT_EQ(QueryValue(location, "error"), "access_denied");
  EXPECT_EQ(QueryValue(location, "state"), "st-1");
  EXPECT_EQ(QueryValue(location, "code"), "");
}

TEST_F(AgFinitiFlowTest, WrongPasswordShowsSignInAgainWithError) {
  auto page = Authorize(DefaultQuery());
  ASSERT_TRUE(page);
  EXPECT_TRUE(absl::StrContains(page->body, "Leaf &lt;connector&gt;"));
  auto again = PostForm("/agfiniti/Account/SignIn",
                        "request_id=" + Hidden(page->body) + "&username=grower%40farm&password=no");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_TRUE(absl::StrContains(again->body, "id=\"error\""));
  EXPECT_TRUE(absl::StrContains(again->body, "id=\"sign-in\""));
  EXPECT_FALSE(absl::StrContains(again->body, "id=\"allow\""));
}

TEST_F(AgFinitiFlowTest, UnregisteredRedirectOrClientIsAnErrorPageNeverARedirect) {
  for (const std::string& q :
       {absl::StrCat("response_type=code&client_id=", kPub, "&redirect_uri=",
                     Enc("http://127.0.0.1:9/agleader/callback/x"), "&scope=read&state=s"),
        absl::StrCat("response_type=code&client_id=nope&redirect_uri=", Enc(kRedirect),
                     "&scope=read&state=s")}) {
    auto res = Authorize(q);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400);
    EXPECT_FALSE(res->has_header("Location"));
  }
  EXPECT_EQ(emu_->LastAgFinitiAuthorize()->client_id, "nope");
}

TEST_F(AgFinitiFlowTest, BadScopeRedirectsWithInvalidScope) {
  auto res =
      Authorize(absl::StrCat("response_type=code&client_id=", kPub,
                             "&redirect_uri=", Enc(kRedirect), "&scope=read%20admin&state=s"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 302);
  EXPECT_EQ(QueryValue(res->get_header_value("Location"), "error"), "invalid_scope");
}

TEST_F(AgFinitiFlowTest, CodeReplayIsInvalidGrantAndRevokesTheTokens) {
  const std::string code = QueryValue(Walk(true)->get_header_value("Location"), "code");
  auto first = Token(CodeBody(code));
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(first->body, m, std::regex("\"refresh_token\":\"([0-9a-f]+)\"")));
  const std::string refresh = m[1];
  auto created = PostLeaf(refresh);
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201);
  EXPECT_EQ(emu_->GetStored(kLeafUser)->status, "OK");
  auto replay = Token(CodeBody(code));
  ASSERT_TRUE(replay);
  EXPECT_EQ(replay->status, 400);
  EXPECT_TRUE(absl::StrContains(replay->body, "\"error\":\"invalid_grant\""));
  EXPECT_FALSE(emu_->IsLiveAgFinitiRefreshToken(refresh));
  EXPECT_EQ(emu_->GetStored(kLeafUser)->status, "UNAUTHENTICATED");
}

TEST_F(AgFinitiFlowTest, WrongRedirectUriAtTokenIsInvalidGrant) {
  const std::string code = QueryValue(Walk(true)->get_header_value("Location"), "code");
  auto res = Token("grant_type=authorization_code&code=" + code +
                   "&redirect_uri=" + Enc(std::string(kRedirect) + "?x=1"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_TRUE(absl::StrContains(res->body, "invalid_grant"));
}

TEST_F(AgFinitiFlowTest, WrongBasicAuthIs401InvalidClient) {
  const std::string code = QueryValue(Walk(true)->get_header_value("Location"), "code");
  auto res = Token(CodeBody(code), kPub, "wrong");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_TRUE(absl::StartsWith(res->get_header_value("WWW-Authenticate"), "Basic"));
  EXPECT_TRUE(absl::StrContains(res->body, "invalid_client"));
  // The code survives a failed client authentication.
  EXPECT_EQ(Token(CodeBody(code))->status, 200);
}

TEST_F(AgFinitiFlowTest, PkceMismatchIsInvalidGrantAndMatchSucceeds) {
  const std::string challenge = agfiniti::S256Challenge(kVerifier);
  const std::string code =
      QueryValue(Walk(true, "&code_challenge=" + challenge + "&code_challenge_method=S256")
                     ->get_header_value("Location"),
                 "code");
  EXPECT_EQ(emu_->LastAgFinitiAuthorize()->code_challenge, challenge);
  auto bad = Token(CodeBody(code) + "&code_verifier=" + std::string(43, 'x'));
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_TRUE(absl::StrContains(bad->body, "invalid_grant"));
  EXPECT_EQ(Token(CodeBody(code) + "&code_verifier=" + kVerifier)->status, 200);
}

TEST_F(AgFinitiFlowTest, MalformedAndOversizedTokenRequestsAre400) {
  EXPECT_EQ(Token("grant_type=authorization_code&code=%ZZ")->status, 400);
  EXPECT_EQ(Token("grant_type=password&username=x")->status, 400);
  EXPECT_TRUE(absl::StrContains(Token("grant_type=password")->body, "unsupported_grant_type"));
  // cpp-httplib refuses form bodies over 8 KiB itself: 413, no crash.
  EXPECT_EQ(Token("code=" + std::string(20000, 'a'))->status, 413);
  EXPECT_EQ(Token("code=" + std::string(7000, 'a'))->status, 400);
  EXPECT_EQ(Token("grant_type=refresh_token&refresh_token=unknown")->status, 400);
}

TEST_F(AgFinitiFlowTest, TokenFaultAnswers500) {
  emu_->SetAgFinitiTokenFault({500, "", absl::ZeroDuration(), 1});
  auto res = Token("grant_type=refresh_token&refresh_token=x");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(Token("grant_type=refresh_token&refresh_token=x")->status, 400);
}

TEST_F(AgFinitiFlowTest, RevokeFlipsLeafCredentialAndSendsAlert) {
  // A webhook receiver for Leaf's alert.
  httplib::Server receiver;
  std::mutex mu;
  std::condition_variable cv;
  std::string alert;
  receiver.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> l(mu);
    alert += req.body;
    cv.notify_all();
    res.status = 200;
  });
  const int port = receiver.bind_to_any_port("127.0.0.1");
  std::thread t([&] { receiver.listen_after_bind(); });
  auto hook = Client()->Post(
      "/services/alerts/api/alerts/webhooks", {{"Authorization", absl::StrCat("Bearer ", kToken)}},
      absl::StrCat(R"({"name":"h","url":"http://127.0.0.1:)", port,
                   R"(/hook","secret":"s","events":["credentialsUnauthenticated"]})"),
      "application/json");
  ASSERT_TRUE(hook);
  ASSERT_LT(hook->status, 300) << hook->body;

  const std::string refresh = emu_->IssueAgFinitiRefreshToken("grower@farm", kPub).value();
  ASSERT_EQ(PostLeaf(refresh)->status, 201);
  EXPECT_EQ(emu_->GetStored(kLeafUser)->status, "OK");
  AgFinitiRevocation r = emu_->RevokeAgFinitiGrower("grower@farm");
  EXPECT_EQ(r.revoked_refresh_tokens, 1);
  EXPECT_EQ(r.flipped_credentials, 1);
  EXPECT_EQ(emu_->GetStored(kLeafUser)->status, "UNAUTHENTICATED");
  {
    std::unique_lock<std::mutex> l(mu);
    ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(5), [&] {
      return absl::StrContains(alert, "credentialsUnauthenticated");
    }));
    EXPECT_TRUE(absl::StrContains(alert, "\"UNAUTHENTICATED\"")) << alert;
  }
  // A revoked or unknown token posted again is stored UNAUTHENTICATED.
  ASSERT_EQ(PostLeaf(refresh)->status, 201);
  EXPECT_EQ(emu_->GetStored(kLeafUser)->status, "UNAUTHENTICATED");
  receiver.stop();
  t.join();
}

TEST_F(AgFinitiFlowTest, ControlApiAddsGrowerRevokesAndCounts) {
  auto c = Client();
  EXPECT_EQ(c->Post("/_emulator/agfiniti/growers", R"({"username":"g2","password":"p"})",
                    "application/json")
                ->status,
            200);
  EXPECT_EQ(c->Post("/_emulator/agfiniti/apps",
                    R"({"public_key":"p2","private_key":"k2","redirect_uris":["https://x/cb#f"]})",
                    "application/json")
                ->status,
            400);
  auto issued =
      c->Post("/_emulator/agfiniti/refresh-tokens",
              absl::StrCat(R"({"username":"g2","client_id":")", kPub, R"("})"), "application/json");
  ASSERT_TRUE(issued);
  EXPECT_EQ(issued->status, 200);
  auto revoked = c->Post("/_emulator/agfiniti/revoke", R"({"username":"g2"})", "application/json");
  ASSERT_TRUE(revoked);
  EXPECT_EQ(revoked->body, R"({"revoked_refresh_tokens":1,"flipped_credentials":0})");
  auto stats = c->Get("/_emulator/agfiniti/stats");
  ASSERT_TRUE(stats);
  EXPECT_TRUE(absl::StrContains(stats->body, "\"growers\":2")) << stats->body;
  EXPECT_TRUE(absl::StrContains(stats->body, "\"refresh_tokens_revoked\":1")) << stats->body;
  EXPECT_EQ(
      c->Post("/_emulator/agfiniti/token-fault", R"({"status":503,"times":1})", "application/json")
          ->status,
      200);
  EXPECT_EQ(Token("grant_type=refresh_token&refresh_token=x")->status, 503);
  EXPECT_EQ(c->Get("/_emulator/agfiniti/last-authorize")->status, 404);
}

}  // namespace
}  // namespace leafemu
