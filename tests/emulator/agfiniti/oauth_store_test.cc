#include "emulator/agfiniti/oauth_store.h"

#include <string>

#include "emulator/agfiniti/pkce.h"
#include "gtest/gtest.h"

namespace leafemu {
namespace agfiniti {
namespace {

constexpr char kVerifier[] = "abcdefghijklmnopqrstuvwxyz0123456789-._~ABCDEFG";
constexpr char kRedirect[] = "https://svc.example/agleader/callback";

class OAuthStoreTest : public ::testing::Test {
 protected:
  OAuthStoreTest() : store_(Options(), [this] { return now_; }) {}

  static AgFinitiOptions Options() {
    AgFinitiOptions o;
    o.apps.push_back({"pub", "priv", "Leaf connector", {kRedirect}});
    o.apps.push_back({"other", "other-priv", "", {kRedirect}});
    o.growers["grower"] = "pw";
    o.growers["second"] = "pw2";
    return o;
  }

  // Through sign-in and consent; the code.
  std::string Code(const std::string& challenge = "", const std::string& grower = "grower",
                   const std::string& client = "pub") {
    PendingAuthorization p;
    p.client_id = client;
    p.redirect_uri = kRedirect;
    p.scopes = {"read", "readwrite"};
    p.state = "st";
    p.code_challenge = challenge;
    const std::string id = store_.BeginAuthorization(p);
    std::string consent;
    EXPECT_EQ(store_.SignIn(id, grower, grower == "grower" ? "pw" : "pw2", &consent),
              AgFinitiStore::SignInOutcome::kSignedIn);
    auto r = store_.Consent(consent, true);
    EXPECT_TRUE(r && r->code);
    return r && r->code ? *r->code : "";
  }

  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  AgFinitiStore store_;
};

TEST_F(OAuthStoreTest, ValidatesApplications) {
  EXPECT_FALSE(AgFinitiStore::ValidateApp({"", "k", "", {}}).ok());
  EXPECT_FALSE(AgFinitiStore::ValidateApp({"p", "k", "", {"https://x/cb#frag"}}).ok());
  EXPECT_FALSE(AgFinitiStore::ValidateApp({"p", "k", "", {"/relative"}}).ok());
  EXPECT_TRUE(AgFinitiStore::ValidateApp({"p", "k", "", {"http://127.0.0.1:1/cb"}}).ok());
  EXPECT_EQ(store_.App("other")->name, "other");  // defaults to the public key
}

TEST_F(OAuthStoreTest, ChecksClientSecret) {
  EXPECT_TRUE(store_.CheckClient("pub", "priv"));
  EXPECT_FALSE(store_.CheckClient("pub", "other-priv"));
  EXPECT_FALSE(store_.CheckClient("pub", "pri"));
  EXPECT_FALSE(store_.CheckClient("nobody", "priv"));
}

TEST_F(OAuthStoreTest, SignInMovesTheRequestToANewIdAndCountsFailures) {
  const std::string id = store_.BeginAuthorization({"pub", "n", kRedirect, {"read"}, "s", "", ""});
  EXPECT_EQ(id.size(), 64u);
  std::string consent;
  EXPECT_EQ(store_.SignIn(id, "grower", "wrong", &consent),
            AgFinitiStore::SignInOutcome::kWrongPassword);
  EXPECT_EQ(store_.SignIn(id, "nobody", "pw", &consent),
            AgFinitiStore::SignInOutcome::kWrongPassword);
  // The sign-in id cannot consent.
  EXPECT_FALSE(store_.Consent(id, true));
  EXPECT_EQ(store_.SignIn(id, "grower", "pw", &consent), AgFinitiStore::SignInOutcome::kSignedIn);
  EXPECT_NE(consent, id);
  EXPECT_FALSE(store_.PendingSignIn(id));
  EXPECT_EQ(store_.PendingConsent(consent)->grower, "grower");
  EXPECT_EQ(store_.Stats().sign_in_failures, 2);
  auto denied = store_.Consent(consent, false);
  ASSERT_TRUE(denied);
  EXPECT_FALSE(denied->code);
  EXPECT_EQ(denied->state, "s");
  EXPECT_FALSE(store_.Consent(consent, true)) << "single-use";
}

TEST_F(OAuthStoreTest, TooManyWrongPasswordsDropTheRequest) {
  const std::string id = store_.BeginAuthorization({"pub", "n", kRedirect, {"read"}, "", "", ""});
  std::string consent;
  for (int i = 1; i < AgFinitiStore::kMaxSignInFailures; ++i) {
    EXPECT_EQ(store_.SignIn(id, "grower", "x", &consent),
              AgFinitiStore::SignInOutcome::kWrongPassword);
  }
  EXPECT_EQ(store_.SignIn(id, "grower", "x", &consent),
            AgFinitiStore::SignInOutcome::kTooManyFailures);
  EXPECT_EQ(store_.SignIn(id, "grower", "pw", &consent),
            AgFinitiStore::SignInOutcome::kUnknownRequest);
}

TEST_F(OAuthStoreTest, PendingRequestsExpire) {
  const std::string id = store_.BeginAuthorization({"pub", "n", kRedirect, {"read"}, "", "", ""});
  now_ += absl::Minutes(10);
  std::string consent;
  EXPECT_EQ(store_.SignIn(id, "grower", "pw", &consent),
            AgFinitiStore::SignInOutcome::kUnknownRequest);
}

TEST_F(OAuthStoreTest, CodeRedeemsOnceForTheRightClientAndRedirect) {
  const std::string code = Code();
  EXPECT_FALSE(store_.RedeemCode("other", code, kRedirect, std::nullopt).grant);
  TokenResult wrong_uri =
      store_.RedeemCode("pub", code, "https://svc.example/agleader/callback/", std::nullopt);
  EXPECT_FALSE(wrong_uri.grant);
  EXPECT_EQ(wrong_uri.error, TokenError::kInvalidGrant);
  TokenResult ok = store_.RedeemCode("pub", code, kRedirect, std::nullopt);
  ASSERT_TRUE(ok.grant);
  EXPECT_EQ(ok.grant->scope, "read readwrite");
  EXPECT_EQ(ok.grant->expires_in, 3600);
  EXPECT_NE(ok.grant->access_token, ok.grant->refresh_token);
  EXPECT_TRUE(store_.IsLiveRefreshToken(ok.grant->refresh_token, "pub"));
  EXPECT_FALSE(store_.IsLiveRefreshToken(ok.grant->refresh_token, "other"));
  EXPECT_TRUE(store_.IsLiveRefreshToken(ok.grant->refresh_token, ""));

  // Replay: invalid_grant, and the tokens it issued die.
  TokenResult replay = store_.RedeemCode("pub", code, kRedirect, std::nullopt);
  EXPECT_FALSE(replay.grant);
  EXPECT_EQ(replay.error, TokenError::kInvalidGrant);
  ASSERT_EQ(replay.revoked_refresh_tokens.size(), 1u);
  EXPECT_EQ(replay.revoked_refresh_tokens[0], ok.grant->refresh_token);
  EXPECT_FALSE(store_.IsLiveRefreshToken(ok.grant->refresh_token, ""));
  EXPECT_FALSE(store_.Refresh("pub", ok.grant->refresh_token, std::nullopt).grant);
  AgFinitiStats s = store_.Stats();
  EXPECT_EQ(s.code_replays, 1);
  EXPECT_EQ(s.codes_redeemed, 1);
  EXPECT_EQ(s.refresh_tokens_live, 0);
}

TEST_F(OAuthStoreTest, CodesExpireAfterTenMinutes) {
  const std::string code = Code();
  now_ += absl::Minutes(10);
  EXPECT_FALSE(store_.RedeemCode("pub", code, kRedirect, std::nullopt).grant);
}

TEST_F(OAuthStoreTest, PkceIsEnforced) {
  const std::string code = Code(S256Challenge(kVerifier));
  EXPECT_FALSE(store_.RedeemCode("pub", code, kRedirect, std::nullopt).grant);
  std::string wrong = kVerifier;
  wrong[0] = 'b';
  EXPECT_FALSE(store_.RedeemCode("pub", code, kRedirect, wrong).grant);
  EXPECT_TRUE(store_.RedeemCode("pub", code, kRedirect, std::string(kVerifier)).grant);
  // A verifier where no challenge was given is refused too.
  EXPECT_FALSE(store_.RedeemCode("pub", Code(), kRedirect, std::string(kVerifier)).grant);
}

TEST_F(OAuthStoreTest, RefreshIssuesNewAccessTokenWithinScope) {
  TokenResult ok = store_.RedeemCode("pub", Code(), kRedirect, std::nullopt);
  ASSERT_TRUE(ok.grant);
  TokenResult r = store_.Refresh("pub", ok.grant->refresh_token, std::nullopt);
  ASSERT_TRUE(r.grant);
  EXPECT_NE(r.grant->access_token, ok.grant->access_token);
  EXPECT_EQ(r.grant->refresh_token, ok.grant->refresh_token);
  EXPECT_EQ(store_.Refresh("pub", ok.grant->refresh_token, std::string("fileupload")).error,
            TokenError::kInvalidScope);
  EXPECT_EQ(store_.Refresh("pub", ok.grant->refresh_token, std::string("read")).grant->scope,
            "read");
  EXPECT_FALSE(store_.Refresh("other", ok.grant->refresh_token, std::nullopt).grant);
}

TEST_F(OAuthStoreTest, RevokeGrowerKillsOnlyThatGrowersRefreshTokens) {
  const std::string a =
      store_.RedeemCode("pub", Code(), kRedirect, std::nullopt).grant->refresh_token;
  const std::string b =
      store_.RedeemCode("pub", Code("", "second"), kRedirect, std::nullopt).grant->refresh_token;
  const std::string direct = store_.IssueRefreshToken("grower", "pub", "").value();
  auto revoked = store_.RevokeGrower("grower");
  EXPECT_EQ(revoked.size(), 2u);
  EXPECT_FALSE(store_.IsLiveRefreshToken(a, ""));
  EXPECT_FALSE(store_.IsLiveRefreshToken(direct, ""));
  EXPECT_TRUE(store_.IsLiveRefreshToken(b, ""));
  EXPECT_TRUE(store_.RevokeGrower("grower").empty());
  EXPECT_FALSE(store_.IssueRefreshToken("nobody", "pub", "").ok());
  EXPECT_FALSE(store_.IssueRefreshToken("grower", "nope", "").ok());
}

TEST_F(OAuthStoreTest, TokenFaultCountsDownAndResetRestoresConfiguration) {
  store_.SetTokenFault({503, "", absl::ZeroDuration(), 2});
  EXPECT_EQ(store_.TakeTokenFault()->status, 503);
  EXPECT_TRUE(store_.TakeTokenFault());
  EXPECT_FALSE(store_.TakeTokenFault());
  ASSERT_TRUE(store_.AddGrower("third", "x").ok());
  const std::string token = store_.IssueRefreshToken("grower", "pub", "").value();
  store_.Reset();
  EXPECT_EQ(store_.Stats().growers, 2);
  EXPECT_FALSE(store_.IsLiveRefreshToken(token, ""));
  EXPECT_EQ(store_.Stats().refresh_tokens_issued, 0);
}

}  // namespace
}  // namespace agfiniti
}  // namespace leafemu
