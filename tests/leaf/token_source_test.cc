#include "server/leaf/token_source.h"

#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/util/status_details.h"
#include "tests/leaf/fake_http_client.h"

namespace leafsvc::leaf {
namespace {

using ::leafsvc::testing::FakeHttpClient;

std::string Jwt(absl::Time exp, const std::string& tag = "sig") {
  std::string header, payload;
  absl::WebSafeBase64Escape(R"({"alg":"HS512"})", &header);
  absl::WebSafeBase64Escape(
      absl::StrCat(R"({"sub":"me","exp":)", absl::ToUnixSeconds(exp), "}"), &payload);
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
  EXPECT_FALSE(Get().has_value());
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
  // The first waiter already got the error; check a fresh waiter after it.
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

TEST(StaticTokenSourceTest, ReturnsTheTokenAndNeverRetries) {
  StaticTokenSource s(Secret("tok"));
  std::string got;
  s.GetToken([&got](absl::StatusOr<Secret> t) { got = t->Reveal(); });
  EXPECT_EQ(got, "tok");
  EXPECT_FALSE(s.Invalidate(Secret("tok")));
}

}  // namespace
}  // namespace leafsvc::leaf
