// CurlHttpClient over https against a local httplib SSLServer with a
// self-signed certificate: untrusted by default, trusted through ca_file.
#include <httplib.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/curl_http_client.h"
#include "server/http/http_client.h"
#include "tests/http/http_test_util.h"
#include "tests/http/test_cert.h"

namespace leafsvc::http {
namespace {

using ::leafsvc::http::testing::Result;
using ::leafsvc::http::testing::SelfSignedCert;
using ::leafsvc::http::testing::TestServer;
using ::testing::HasSubstr;

class CurlHttpClientTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.server().is_valid());
    server_.server().Get("/hello", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("secure hi", "text/plain");
    });
    ASSERT_TRUE(server_.Start());
  }

  std::string Url() const { return absl::StrCat("https://127.0.0.1:", server_.port(), "/hello"); }

  SelfSignedCert cert_;
  TestServer<httplib::SSLServer> server_{cert_.cert(), cert_.key()};
};

TEST_F(CurlHttpClientTlsTest, UntrustedCertificateIsUnavailableTls) {
  auto client = CurlHttpClient::Create(CurlHttpClientOptions());
  ASSERT_TRUE(client.ok());
  HttpRequest request;
  request.method = "GET";
  request.url = Url();
  Result result;
  (*client)->Send(request, result.Callback());
  auto response = result.Get();
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
  EXPECT_THAT(response.status().message(), HasSubstr("TLS"));
  EXPECT_FALSE(MaybeSent(response.status()));
}

TEST_F(CurlHttpClientTlsTest, CaFileIsTrusted) {
  CurlHttpClientOptions options;
  options.ca_file = cert_.path();
  auto client = CurlHttpClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();
  for (int i = 0; i < 2; ++i) {
    HttpRequest request;
    request.method = "GET";
    request.url = Url();
    Result result;
    (*client)->Send(request, result.Callback());
    auto response = result.Get();
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->status_code, 200);
    EXPECT_EQ(response->body, "secure hi");
  }
}

}  // namespace
}  // namespace leafsvc::http
