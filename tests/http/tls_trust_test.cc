#include "server/http/tls_trust.h"

#include <curl/curl.h>
#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/http/http_test_util.h"
#include "tests/http/test_cert.h"

namespace leafsvc::http {
namespace {

using ::leafsvc::http::testing::SelfSignedCert;
using ::leafsvc::http::testing::TestServer;
using ::testing::HasSubstr;
using Mode = TlsTrust::Mode;

class TlsTrustTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_EQ(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK); }
  static void TearDownTestSuite() { curl_global_cleanup(); }

  std::string WriteFile(const std::string& name, const std::string& contents) {
    const std::string path = absl::StrCat(::testing::TempDir(), "/", name);
    std::FILE* f = std::fopen(path.c_str(), "w");
    std::fputs(contents.c_str(), f);
    std::fclose(f);
    return path;
  }

  static std::string Pem(X509* cert) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    std::string pem(data, len);
    BIO_free(bio);
    return pem;
  }

  SelfSignedCert cert_;
};

TEST_F(TlsTrustTest, NoCaFileTrustsTheSystemStoreOnly) {
  auto trust = TlsTrust::Create("");
  ASSERT_TRUE(trust.ok()) << trust.status();
  EXPECT_EQ((*trust)->mode(), Mode::kSystem);
  EXPECT_EQ((*trust)->ca_file_certificates(), 0u);
}

TEST_F(TlsTrustTest, CaFileModeIsTheCallersChoice) {
  auto extend = TlsTrust::Create(cert_.path(), true);
  ASSERT_TRUE(extend.ok()) << extend.status();
  EXPECT_EQ((*extend)->mode(), Mode::kSystemPlusCaFile);
  EXPECT_EQ((*extend)->ca_file_certificates(), 1u);
  auto replace = TlsTrust::Create(cert_.path(), false);
  ASSERT_TRUE(replace.ok()) << replace.status();
  EXPECT_EQ((*replace)->mode(), Mode::kCaFileOnly);
  // The automatic choice is one of the two.
  auto automatic = TlsTrust::Create(cert_.path());
  ASSERT_TRUE(automatic.ok()) << automatic.status();
  EXPECT_EQ((*automatic)->mode(),
            TlsTrust::CanExtendDefaultStore() ? Mode::kSystemPlusCaFile : Mode::kCaFileOnly);
}

TEST_F(TlsTrustTest, ReadsEveryCertificateOfABundle) {
  SelfSignedCert other;
  const std::string path =
      WriteFile("bundle.pem", absl::StrCat("# comment\n", Pem(cert_.cert()), Pem(other.cert())));
  auto trust = TlsTrust::Create(path, true);
  ASSERT_TRUE(trust.ok()) << trust.status();
  EXPECT_EQ((*trust)->ca_file_certificates(), 2u);
}

TEST_F(TlsTrustTest, UnreadableOrEmptyCaFileIsInvalidArgument) {
  auto missing = TlsTrust::Create("/nonexistent/ca.pem");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("cannot read CA file"));
  for (bool extend : {true, false}) {
    auto empty = TlsTrust::Create(WriteFile("empty.pem", "not a certificate\n"), extend);
    EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(empty.status().message()), HasSubstr("holds no PEM certificate"));
  }
}

TEST_F(TlsTrustTest, AddToContextPutsTheCertificatesInTheConnectionsStore) {
  auto trust = TlsTrust::Create(cert_.path(), true);
  ASSERT_TRUE(trust.ok()) << trust.status();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  ASSERT_NE(ctx, nullptr);
  auto verifies = [&] {
    X509_STORE_CTX* check = X509_STORE_CTX_new();
    X509_STORE_CTX_init(check, SSL_CTX_get_cert_store(ctx), cert_.cert(), nullptr);
    const bool ok = X509_verify_cert(check) == 1;
    X509_STORE_CTX_free(check);
    return ok;
  };
  EXPECT_FALSE(verifies());
  EXPECT_EQ(TlsTrust::AddToContext(nullptr, ctx, trust->get()), CURLE_OK);
  EXPECT_TRUE(verifies());
  // Again on the same store (curl may share one): still fine.
  EXPECT_EQ(TlsTrust::AddToContext(nullptr, ctx, trust->get()), CURLE_OK);
  EXPECT_TRUE(verifies());
  SSL_CTX_free(ctx);
}

// ApplyTo on a real handle, against a local https server whose certificate
// only ca_file vouches for.
class TlsTrustHandshakeTest : public TlsTrustTest {
 protected:
  void SetUp() override {
    server_.server().Get("/hello", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("secure hi", "text/plain");
    });
    ASSERT_TRUE(server_.Start());
  }

  // A blocking transfer with `trust` applied: its CURLcode.
  CURLcode Fetch(const TlsTrust& trust) {
    CURL* easy = curl_easy_init();
    std::string body;
    const std::string url = absl::StrCat("https://127.0.0.1:", server_.port(), "/hello");
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 5000L);
    curl_write_callback write = [](char* data, size_t size, size_t n, void* out) {
      static_cast<std::string*>(out)->append(data, size * n);
      return size * n;
    };
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
    CURLcode code = trust.ApplyTo(easy);
    if (code == CURLE_OK) code = curl_easy_perform(easy);
    curl_easy_cleanup(easy);
    if (code == CURLE_OK) {
      EXPECT_EQ(body, "secure hi");
    }
    return code;
  }

  TestServer<httplib::SSLServer> server_{cert_.cert(), cert_.key()};
};

TEST_F(TlsTrustHandshakeTest, SystemTrustRejectsTheSelfSignedPeer) {
  auto trust = TlsTrust::Create("");
  ASSERT_TRUE(trust.ok());
  EXPECT_EQ(Fetch(**trust), CURLE_PEER_FAILED_VERIFICATION);
}

TEST_F(TlsTrustHandshakeTest, CaFileAloneIsTrusted) {
  auto trust = TlsTrust::Create(cert_.path(), false);
  ASSERT_TRUE(trust.ok()) << trust.status();
  EXPECT_EQ(Fetch(**trust), CURLE_OK);
}

TEST_F(TlsTrustHandshakeTest, CaFileOnTopOfTheSystemStoreIsTrusted) {
  if (!TlsTrust::CanExtendDefaultStore()) {
    GTEST_SKIP() << "curl here has no OpenSSL backend or no default CA store";
  }
  auto trust = TlsTrust::Create(cert_.path(), true);
  ASSERT_TRUE(trust.ok()) << trust.status();
  EXPECT_EQ(Fetch(**trust), CURLE_OK);
  EXPECT_EQ(Fetch(**trust), CURLE_OK);  // Each new connection gets it.
}

TEST_F(TlsTrustHandshakeTest, HostNameIsVerified) {
  // The certificate names 127.0.0.1 and localhost, not 127.0.0.2.
  auto trust = TlsTrust::Create(cert_.path(), false);
  ASSERT_TRUE(trust.ok());
  CURL* easy = curl_easy_init();
  const std::string url = absl::StrCat("https://wrong.test:", server_.port(), "/hello");
  const std::string resolve = absl::StrCat("wrong.test:", server_.port(), ":127.0.0.1");
  curl_slist* hosts = curl_slist_append(nullptr, resolve.c_str());
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_RESOLVE, hosts);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 5000L);
  ASSERT_EQ((*trust)->ApplyTo(easy), CURLE_OK);
  EXPECT_EQ(curl_easy_perform(easy), CURLE_PEER_FAILED_VERIFICATION);
  curl_easy_cleanup(easy);
  curl_slist_free_all(hosts);
}

}  // namespace
}  // namespace leafsvc::http
