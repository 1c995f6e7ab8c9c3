// The code exchange: the request AgFiniti gets (RFC 6749 §4.1.3), every
// answer's mapping (§5.1, §5.2, transport), and that no secret of the
// exchange ever reaches an error.
#include "server/connect/agfiniti_token_client.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "server/errors/status_details.h"
#include "tests/leaf/fake_http_client.h"

namespace leafsvc::connect {
namespace {

using ::leafsvc::testing::FakeHttpClient;
using ::leafsvc::testing::HeaderOf;

constexpr char kCode[] = "code-SPLxlOBeZQQYbYS6WxSbIA";
constexpr char kPrivate[] = "private-key-0123456789abcdef";
constexpr char kVerifier[] = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

ConnectOptions Options() {
  ConnectOptions o;
  o.public_key = "public-key-1";
  o.private_key = Secret(kPrivate);
  o.token_url = "http://127.0.0.1:1/api/token";
  o.public_url = "https://connect.example.com";
  o.agfiniti_timeout = absl::Seconds(7);
  return o;
}

class AgfinitiTokenClientTest : public ::testing::Test {
 protected:
  AgfinitiTokenClientTest() : client_(&http_, Options()) {}

  // Starts an exchange and answers it with `status` and `body`.
  absl::StatusOr<AgfinitiTokens> Run(int status, std::string body, bool pkce = false) {
    std::optional<absl::StatusOr<AgfinitiTokens>> got;
    client_.Exchange(Secret(kCode), pkce ? Secret(kVerifier) : Secret(),
                     [&](absl::StatusOr<AgfinitiTokens> r) { got = std::move(r); });
    EXPECT_TRUE(http_.Respond(status, std::move(body)));
    EXPECT_TRUE(got.has_value());
    return got.has_value() ? *std::move(got) : absl::InternalError("no answer");
  }
  absl::StatusOr<AgfinitiTokens> RunTransport(absl::Status transport) {
    std::optional<absl::StatusOr<AgfinitiTokens>> got;
    client_.Exchange(Secret(kCode), Secret(),
                     [&](absl::StatusOr<AgfinitiTokens> r) { got = std::move(r); });
    EXPECT_TRUE(http_.Respond(absl::StatusOr<http::HttpResponse>(transport)));
    return got.has_value() ? *std::move(got) : absl::InternalError("no answer");
  }

  // No secret of the exchange, nor the Basic header, in any text of `s`.
  void ExpectNoSecrets(const absl::Status& s) {
    const std::string basic = absl::Base64Escape(std::string("public-key-1:") + kPrivate);
    std::string all(s.message());
    StatusDetails d = GetStatusDetails(s);
    for (const auto& [k, v] : d.metadata) all += " " + k + "=" + v;
    for (const std::string& secret :
         {std::string(kCode), std::string(kPrivate), std::string(kVerifier), basic,
          std::string("SPLxlOBe"), std::string("0123456789abcdef")}) {
      EXPECT_FALSE(absl::StrContains(all, secret)) << all;
    }
  }

  FakeHttpClient http_;
  AgfinitiTokenClient client_;
};

TEST_F(AgfinitiTokenClientTest, PostsTheDocumentedRequest) {
  ASSERT_TRUE(Run(200, R"({"refresh_token":"rt"})").ok());
  const http::HttpRequest req = http_.requests().at(0);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "http://127.0.0.1:1/api/token");
  EXPECT_EQ(HeaderOf(req, "Authorization"),
            "Basic " + absl::Base64Escape(std::string("public-key-1:") + kPrivate));
  EXPECT_EQ(HeaderOf(req, "Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(HeaderOf(req, "Accept"), "application/json");
  EXPECT_EQ(req.body, std::string("grant_type=authorization_code&code=") + kCode +
                          "&redirect_uri=https%3A%2F%2Fconnect.example.com%2Fagleader%2Fcallback");
  EXPECT_TRUE(req.fresh_connection);
  EXPECT_GT(req.deadline, absl::Now() + absl::Seconds(5));
  EXPECT_LE(req.deadline, absl::Now() + absl::Seconds(7));
}

TEST_F(AgfinitiTokenClientTest, SendsTheVerifierWithPkce) {
  ASSERT_TRUE(Run(200, R"({"refresh_token":"rt"})", /*pkce=*/true).ok());
  EXPECT_TRUE(
      absl::EndsWith(http_.requests().at(0).body, std::string("&code_verifier=") + kVerifier));
}

TEST_F(AgfinitiTokenClientTest, EncodesAHostileCode) {
  std::optional<absl::StatusOr<AgfinitiTokens>> got;
  client_.Exchange(Secret("a&grant_type=x =%"), Secret(), [&](auto r) { got = std::move(r); });
  EXPECT_TRUE(absl::StrContains(http_.requests().at(0).body, "code=a%26grant_type%3Dx%20%3D%25&"));
}

TEST_F(AgfinitiTokenClientTest, ParsesASuccess) {
  absl::StatusOr<AgfinitiTokens> t = Run(
      200, R"({"access_token":"at","token_type":"bearer","expires_in":3600,"refresh_token":"rt"})");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->refresh_token.Reveal(), "rt");
  EXPECT_EQ(t->access_token.Reveal(), "at");
  EXPECT_EQ(t->expires_in, absl::Seconds(3600));
  t = Run(200, R"({"refresh_token":"rt2","expires_in":"soon"})");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->access_token.empty());
  EXPECT_FALSE(t->expires_in.has_value());
}

struct Mapping {
  int status;
  std::string body;
  const char* reason;
};

TEST_F(AgfinitiTokenClientTest, MapsEveryAnswer) {
  const std::vector<Mapping> cases = {
      {400, R"({"error":"invalid_grant"})", "AGFINITI_CODE_REJECTED"},
      {400, R"({"error":"invalid_client"})", "AGFINITI_CLIENT_REJECTED"},
      {401, R"({"error":"invalid_client"})", "AGFINITI_CLIENT_REJECTED"},
      {400, R"({"error":"unauthorized_client"})", "AGFINITI_CLIENT_REJECTED"},
      {401, "", "AGFINITI_CLIENT_REJECTED"},
      {400, R"({"error":"invalid_request"})", "AGFINITI_REQUEST_REJECTED"},
      {400, R"({"error":"unsupported_grant_type"})", "AGFINITI_REQUEST_REJECTED"},
      {400, R"({"error":"invalid_scope"})", "AGFINITI_REQUEST_REJECTED"},
      {400, R"({"error":"something_new"})", "AGFINITI_REQUEST_REJECTED"},
      {200, R"({"error":"invalid_grant"})", "AGFINITI_CODE_REJECTED"},
      {500, R"({"error":"server_error"})", "AGFINITI_UNAVAILABLE"},
      {503, "<html>busy</html>", "AGFINITI_UNAVAILABLE"},
      {400, "<html>bad</html>", "AGFINITI_UNAVAILABLE"},
      {302, "", "AGFINITI_UNAVAILABLE"},
      {200, "not json", "AGFINITI_UNAVAILABLE"},
      {200, "[]", "AGFINITI_UNAVAILABLE"},
      {200, "", "AGFINITI_UNAVAILABLE"},
      {200, R"({"access_token":"at"})", "AGFINITI_UNAVAILABLE"},
      {200, R"({"refresh_token":""})", "AGFINITI_UNAVAILABLE"},
      {200, R"({"refresh_token":42})", "AGFINITI_UNAVAILABLE"},
      {200, std::string(70000, ' ').append(R"({"refresh_token":"rt"})"), "AGFINITI_UNAVAILABLE"},
      {200, (std::string(10000, '[') + std::string(10000, ']')), "AGFINITI_UNAVAILABLE"},
  };
  for (const Mapping& m : cases) {
    absl::StatusOr<AgfinitiTokens> t = Run(m.status, m.body);
    ASSERT_FALSE(t.ok()) << m.status << " " << m.body.substr(0, 60);
    EXPECT_EQ(GetStatusDetails(t.status()).reason, m.reason)
        << m.status << " " << m.body.substr(0, 60) << ": " << t.status();
    ExpectNoSecrets(t.status());
  }
}

TEST_F(AgfinitiTokenClientTest, MapsTransportErrors) {
  for (absl::Status s : {absl::UnavailableError("connect to 127.0.0.1 failed"),
                         absl::DeadlineExceededError("timeout"), absl::InternalError("curl"),
                         absl::ResourceExhaustedError("too big")}) {
    absl::StatusOr<AgfinitiTokens> t = RunTransport(s);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(GetStatusDetails(t.status()).reason, "AGFINITI_UNAVAILABLE");
  }
}

TEST_F(AgfinitiTokenClientTest, QuotesAgFinitisDescriptionOnlyWhenClean) {
  absl::StatusOr<AgfinitiTokens> t =
      Run(400, R"({"error":"invalid_grant","error_description":"code expired\u0007\nbye"})");
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(absl::StrContains(t.status().message(), "code expired?"));
  EXPECT_FALSE(absl::StrContains(t.status().message(), "\n"));
  EXPECT_FALSE(absl::StrContains(t.status().message(), "\a"));

  // Echoing the code, part of it, the key or the Basic header: withheld.
  const std::string basic = absl::Base64Escape(std::string("public-key-1:") + kPrivate);
  for (const std::string& echo :
       {std::string("bad code ") + kCode, std::string("partial SPLxlOBeZQ"),
        std::string("key ") + kPrivate, "header " + basic}) {
    t = Run(400, R"({"error":"invalid_grant","error_description":")" + echo + R"("})");
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(GetStatusDetails(t.status()).reason, "AGFINITI_CODE_REJECTED");
    ExpectNoSecrets(t.status());
  }
  // An error code that quotes the code is not quoted either.
  t = Run(400, std::string(R"({"error":")") + kCode + R"("})");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(GetStatusDetails(t.status()).reason, "AGFINITI_REQUEST_REJECTED");
  ExpectNoSecrets(t.status());

  // A long description is cut.
  t = Run(400,
          R"({"error":"invalid_grant","error_description":")" + std::string(5000, 'x') + R"("})");
  ASSERT_FALSE(t.ok());
  EXPECT_LT(t.status().message().size(), 600u);
}

}  // namespace
}  // namespace leafsvc::connect
