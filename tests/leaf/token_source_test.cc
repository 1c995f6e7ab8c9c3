#include "server/leaf/token_source.h"

#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/errors/status_details.h"
#include "tests/leaf/fake_http_client.h"

namespace leafsvc::leaf {
namespace {

using ::leafsvc::testing::FakeHttpClient;

std::string Jwt(absl::Time exp, const std::string& tag = "sig") {
  std::string header, payload;
  absl::WebSafeBase64Escape(R"({"alg":"HS512"})", &header);
  absl::WebSafeBase64Escape(absl::StrCat(R"({"sub":"me","exp":)", absl::ToUnixSeconds(exp), "}"),
                            &payload);
  return absl::StrCat(header, ".", payload, ".", tag);
}

std::string LoginBody(const std::string& jwt) {
  return absl::StrCat(R"({"id_token":")", jwt, R"("})");
}

class LoginTokenSourceTest : public ::testing::Test {
 protected:
  LoginTokenSourceTest()
      : source_(&http_, LeafEndpoints("http://leaf"), Options(), [this] { return now_; }) {}

  static LoginOptions Options() {
    LoginOptions o;
    o.username = "user@example.com";
    o.password = Secret("pw-123");
    return o;
  }

  // The token if GetToken answered at once; otherwise nullopt (the answer
  // lands in late_ when the login completes).
  std::optional<absl::StatusOr<Secret>> Get() {
    auto out = std::make_shared<std::optional<absl::StatusOr<Secret>>>();
    auto answered = std::make_shared<bool>(false);
    source_.GetToken([this, out, answered](absl::StatusOr<Secret> t) {
      if (*answered) {
        late_.push_back(std::move(t));
      } else {
        *out = std::move(t);
      }
    });
    *answered = true;
    return *out;
  }

  std::vector<absl::StatusOr<Secret>> late_;

  FakeHttpClient http_;
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  LoginTokenSource source_;
};

TEST_F(LoginTokenSourceTest, LogsInOnceAndCachesTheToken) {
  auto first = Get();
  EXPECT_FALSE(first.has_value());  // waiting for the login
  ASSERT_EQ(http_.requests().size(), 1u);
  const http::HttpRequest login = http_.requests()[0];
  EXPECT_EQ(login.method, "POST");
  EXPECT_EQ(login.url, "http://leaf/api/authenticate");
  EXPECT_NE(login.body.find("\"user@example.com\""), std::string::npos);

  const std::string jwt = Jwt(now_ + absl::Hours(24));
  ASSERT_TRUE(http_.Respond(200, LoginBody(jwt)));
  auto second = Get();
  ASSERT_TRUE(second.has_value());
  ASSERT_TRUE(second->ok());
  EXPECT_EQ((*second)->Reveal(), jwt);
  EXPECT_EQ(http_.requests().size(), 1u);
  EXPECT_EQ(source_.login_count(), 1);
}

TEST_F(LoginTokenSourceTest, ConcurrentCallersShareOneLogin) {
  std::vector<absl::StatusOr<Secret>> got;
  for (int i = 0; i < 10; ++i) {
    source_.GetToken([&got](absl::StatusOr<Secret> t) { got.push_back(std::move(t)); });
  }
  EXPECT_EQ(http_.requests().size(), 1u);
  ASSERT_TRUE(http_.Respond(200, LoginBody(Jwt(now_ + absl::Hours(1)))));
  ASSERT_EQ(got.size(), 10u);
  for (const auto& t : got) EXPECT_TRUE(t.ok());
}

TEST_F(LoginTokenSourceTest, RenewsBeforeExpiry) {
  Get();
  ASSERT_TRUE(http_.Respond(200, LoginBody(Jwt(now_ + absl::Hours(24)))));
  now_ += absl::Hours(23);  // still well before exp - 5 min
  EXPECT_TRUE(Get().has_value());
  EXPECT_EQ(http_.requests().size(), 1u);
  now_ += absl::Minutes(56);  // within the renew margin
  // The token is still valid: the caller gets it at once while the renewal
  // runs in the background.
  auto during = Get();
  ASSERT_TRUE(during.has_value());
  EXPECT_TRUE(during->ok());
  EXPECT_EQ(http_.requests().size(), 2u);
  EXPECT_TRUE(Get().has_value());  // no second renewal while one is in flight
  EXPECT_EQ(http_.requests().size(), 2u);
}

TEST_F(LoginTokenSourceTest, FailedLoginReachesEveryWaiterAndIsRetriedLater) {
  std::vector<absl::StatusOr<Secret>> got;
  for (int i = 0; i < 3; ++i) {
    source_.GetToken([&got](absl::StatusOr<Secret> t) { got.push_back(std::move(t)); });
  }
  ASSERT_TRUE(http_.Respond(401, R"({"title":"Unauthorized","detail":"Bad credentials"})"));
  ASSERT_EQ(got.size(), 3u);
  for (const auto& t : got) {
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(GetStatusDetails(t.status()).reason, "LEAF_LOGIN_FAILED");
    EXPECT_NE(t.status().message().find("Bad credentials"), absl::string_view::npos);
    EXPECT_EQ(t.status().message().find("pw-123"), absl::string_view::npos);
  }
  // In backoff: fail at once, no new login.
  auto fast = Get();
  ASSERT_TRUE(fast.has_value());
  EXPECT_EQ(fast->status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(GetStatusDetails(fast->status()).retry_delay.has_value());
  EXPECT_EQ(http_.requests().size(), 1u);
  now_ += absl::Seconds(2);  // past the first backoff step (1 s)
  Get();
  EXPECT_EQ(http_.requests().size(), 2u);
}

TEST_F(LoginTokenSourceTest, InvalidateForcesANewLogin) {
  Get();
  const std::string jwt = Jwt(now_ + absl::Hours(24));
  ASSERT_TRUE(http_.Respond(200, LoginBody(jwt)));
  EXPECT_TRUE(source_.Invalidate(Secret(jwt)));
  EXPECT_FALSE(Get().has_value());
  EXPECT_EQ(http_.requests().size(), 2u);
}

TEST_F(LoginTokenSourceTest, UnreadableLoginResponseIsReported) {
  auto out = Get();
  ASSERT_TRUE(http_.Respond(200, "<html>"));
  std::optional<absl::StatusOr<Secret>> got;
  // The first waiter already got the error; check a fresh waiter after it,
  // once the backoff has passed.
  now_ += absl::Seconds(2);
  source_.GetToken([&got](absl::StatusOr<Secret> t) { got = std::move(t); });
  ASSERT_TRUE(http_.Respond(200, "{}"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(GetStatusDetails(got->status()).reason, "LEAF_BAD_RESPONSE");
}

TEST(JwtExpiryTest, ReadsExpAndToleratesGarbage) {
  const absl::Time exp = absl::FromUnixSeconds(1800000000);
  EXPECT_EQ(JwtExpiry(Secret(Jwt(exp))), exp);
  EXPECT_FALSE(JwtExpiry(Secret("not-a-jwt")).has_value());
  EXPECT_FALSE(JwtExpiry(Secret("a.!!!.c")).has_value());
}

// Logins counted per case: a failing, renewing or oddly-dated login must
// never turn calls into a storm of POST /api/authenticate.
std::string JwtWithRawExp(const std::string& exp) {
  std::string header, payload;
  absl::WebSafeBase64Escape(R"({"alg":"HS512"})", &header);
  absl::WebSafeBase64Escape(absl::StrCat(R"({"sub":"me","exp":)", exp, "}"), &payload);
  return absl::StrCat(header, ".", payload, ".sig");
}

TEST_F(LoginTokenSourceTest, TwentyCallsAfterAFailedLoginMakeNoNewLogin) {
  Get();
  ASSERT_TRUE(http_.Respond(503, "down"));
  int failed_fast = 0;
  for (int i = 0; i < 20; ++i) {
    auto t = Get();
    ASSERT_TRUE(t.has_value());
    EXPECT_FALSE(t->ok());
    if (GetStatusDetails(t->status()).retry_delay.has_value()) ++failed_fast;
  }
  EXPECT_EQ(failed_fast, 20);
  EXPECT_EQ(source_.login_attempts(), 1);
  // Each backoff step allows one attempt, shared by every caller.
  now_ += absl::Seconds(1);
  for (int i = 0; i < 20; ++i) Get();
  EXPECT_EQ(source_.login_attempts(), 2);
  ASSERT_TRUE(http_.Respond(503, "down"));
  now_ += absl::Milliseconds(1500);  // the second step is 1.6-2 s
  for (int i = 0; i < 20; ++i) Get();
  EXPECT_EQ(source_.login_attempts(), 2);
  now_ += absl::Seconds(1);
  for (int i = 0; i < 20; ++i) Get();
  EXPECT_EQ(source_.login_attempts(), 3);
  ASSERT_TRUE(http_.Respond(200, LoginBody(Jwt(now_ + absl::Hours(24)))));
  ASSERT_TRUE(Get().has_value());
  EXPECT_EQ(source_.login_count(), 1);
}

TEST_F(LoginTokenSourceTest, AFailedRenewalKeepsServingTheValidToken) {
  Get();
  const std::string jwt = Jwt(now_ + absl::Hours(24));
  ASSERT_TRUE(http_.Respond(200, LoginBody(jwt)));
  now_ += absl::Hours(24) - absl::Minutes(2);  // in the renew window
  auto t = Get();
  ASSERT_TRUE(t.has_value() && t->ok());
  EXPECT_EQ(http_.requests().size(), 2u);
  ASSERT_TRUE(http_.Respond(503, "down"));
  for (int i = 0; i < 20; ++i) {
    auto again = Get();
    ASSERT_TRUE(again.has_value());
    ASSERT_TRUE(again->ok());
    EXPECT_EQ((*again)->Reveal(), jwt);
  }
  EXPECT_EQ(source_.login_attempts(), 2);  // the backoff holds the next renewal
  now_ += absl::Seconds(1);
  Get();
  EXPECT_EQ(source_.login_attempts(), 3);
}

TEST_F(LoginTokenSourceTest, A401OnAnOlderTokenKeepsTheNewerOne) {
  Get();
  const std::string old_jwt = Jwt(now_ + absl::Hours(24), "old");
  ASSERT_TRUE(http_.Respond(200, LoginBody(old_jwt)));
  now_ += absl::Hours(24) - absl::Minutes(2);
  Get();  // background renewal
  const std::string new_jwt = Jwt(now_ + absl::Hours(24), "new");
  ASSERT_TRUE(http_.Respond(200, LoginBody(new_jwt)));
  // A call that used the old token gets a 401 now.
  EXPECT_TRUE(source_.Invalidate(Secret(old_jwt)));
  auto t = Get();
  ASSERT_TRUE(t.has_value() && t->ok());
  EXPECT_EQ((*t)->Reveal(), new_jwt);
  EXPECT_EQ(source_.login_attempts(), 2);
}

TEST_F(LoginTokenSourceTest, AnExpInThePastMeansDefaultLifetimeNotALoginPerCall) {
  Get();
  ASSERT_TRUE(http_.Respond(200, LoginBody(Jwt(now_ - absl::Hours(1)))));
  for (int i = 0; i < 20; ++i) {
    auto t = Get();
    ASSERT_TRUE(t.has_value() && t->ok());
  }
  EXPECT_EQ(source_.login_attempts(), 1);
}

TEST_F(LoginTokenSourceTest, AnAbsurdExpIsIgnoredAndTheTokenIsStillRenewed) {
  for (const std::string exp :
       {"1e300", "-5", "99999999999999", "\"soon\"", "1.7976931348623157e308"}) {
    SCOPED_TRACE(exp);
    LoginTokenSource source(&http_, LeafEndpoints("http://leaf"), Options(),
                            [this] { return now_; });
    const size_t before = http_.requests().size();
    source.GetToken([](absl::StatusOr<Secret>) {});
    ASSERT_TRUE(http_.Respond(200, LoginBody(JwtWithRawExp(exp))));
    for (int i = 0; i < 5; ++i) source.GetToken([](absl::StatusOr<Secret>) {});
    EXPECT_EQ(http_.requests().size(), before + 1);
    now_ += absl::Hours(23);  // the default lifetime is over: renewed
    source.GetToken([](absl::StatusOr<Secret>) {});
    EXPECT_EQ(http_.requests().size(), before + 2);
    ASSERT_TRUE(http_.Respond(200, LoginBody(Jwt(now_ + absl::Hours(24)))));
  }
}

TEST(JwtExpiryTest, RejectsValuesOutsideTimestampRange) {
  EXPECT_FALSE(JwtExpiry(Secret(JwtWithRawExp("1e300"))).has_value());
  EXPECT_FALSE(JwtExpiry(Secret(JwtWithRawExp("-1"))).has_value());
  EXPECT_FALSE(JwtExpiry(Secret(JwtWithRawExp("253402300800"))).has_value());
  EXPECT_TRUE(JwtExpiry(Secret(JwtWithRawExp("253402300799"))).has_value());
}

// The payload is outside text: parsed without RapidJSON's number arithmetic
// (which overflows an int on this exponent; tests/fuzz shows it under UBSan),
// and `exp` must be a JSON number, not a string of digits.
TEST(JwtExpiryTest, HostileExpValues) {
  EXPECT_EQ(JwtExpiry(Secret(JwtWithRawExp("337206.35803523372022331e-2147483637"))),
            absl::FromUnixSeconds(0));
  EXPECT_FALSE(JwtExpiry(Secret(JwtWithRawExp("\"1700000000\""))).has_value());
  EXPECT_FALSE(JwtExpiry(Secret(JwtWithRawExp("1e400"))).has_value());
  EXPECT_EQ(JwtExpiry(Secret(JwtWithRawExp("1700000000.9"))), absl::FromUnixSeconds(1700000000));
}

TEST(StaticTokenSourceTest, ReturnsTheTokenAndNeverRetries) {
  StaticTokenSource s(Secret("tok"));
  std::string got;
  s.GetToken([&got](absl::StatusOr<Secret> t) { got = t->Reveal(); });
  EXPECT_EQ(got, "tok");
  EXPECT_FALSE(s.Invalidate(Secret("tok")));
}

// Each call's 401 on a resource Leaf refuses whatever the token used to
// discard the fresh token and log in again: 2,200 calls, 2,201 logins.
TEST_F(LoginTokenSourceTest, A401StormAfterAFreshLoginIsSpacedByTheLoginBackoff) {
  Get();
  const std::string first = Jwt(now_ + absl::Hours(24), "first");
  ASSERT_TRUE(http_.Respond(200, LoginBody(first)));
  EXPECT_TRUE(source_.Invalidate(Secret(first)));  // may be revoked: one re-login
  EXPECT_FALSE(Get().has_value());
  const std::string second = Jwt(now_ + absl::Hours(24), "second");
  ASSERT_TRUE(http_.Respond(200, LoginBody(second)));
  for (int call = 0; call < 2200; ++call) {
    auto t = Get();
    ASSERT_TRUE(t.has_value() && t->ok()) << call;  // nobody waits, nobody fails
    EXPECT_EQ((*t)->Reveal(), second);
    EXPECT_FALSE(source_.Invalidate(**t)) << call;  // no retry: the 401 stands
    now_ += absl::Microseconds(400);                // 0.88 s in all
  }
  EXPECT_EQ(source_.login_attempts(), 2);
  now_ += absl::Seconds(1);  // the first step is over: the next 401 logs in
  EXPECT_TRUE(source_.Invalidate(Secret(second)));
  EXPECT_FALSE(Get().has_value());
  EXPECT_EQ(source_.login_attempts(), 3);
}

}  // namespace
}  // namespace leafsvc::leaf
