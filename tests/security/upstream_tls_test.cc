// Leaf's TLS certificate is always verified: against a Leaf (the emulator)
// serving HTTPS with a certificate from a private CA, calls fail with
// UNAVAILABLE naming the TLS problem unless --leaf_ca_file trusts that CA.
#include <grpcpp/grpcpp.h>

#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "tests/security/test_pki.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;

class UpstreamTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = std::make_unique<TestCa>("Private Leaf CA");
    CertAndKey server = ca_->IssueServer("127.0.0.1");
    cert_file_ = WriteTempFile("leaf-cert.pem", server.cert_pem);
    key_file_ = WriteTempFile("leaf-key.pem", server.key_pem);
    ca_file_ = WriteTempFile("leaf-ca.pem", ca_->cert_pem());
  }

  std::unique_ptr<Harness> Start(const std::string& leaf_ca_file) {
    return Harness::Start(
        [this](leafemu::EmulatorOptions& o) {
          o.tls_cert_file = cert_file_;
          o.tls_key_file = key_file_;
        },
        [leaf_ca_file](ServerConfig& c) { c.leaf_ca_file = leaf_ca_file; });
  }

  static grpc::Status Get(Harness& h) {
    v1::GetCredentialsRequest req;
    req.set_leaf_user_id(kUserA);
    v1::Credentials out;
    return h.stub().GetCredentials(Harness::Context().get(), req, &out);
  }

  std::unique_ptr<TestCa> ca_;
  std::string cert_file_, key_file_, ca_file_;
};

TEST_F(UpstreamTlsTest, UntrustedCertificateIsRefusedWithATlsMessage) {
  auto h = Start("");
  ASSERT_NE(h, nullptr);
  ASSERT_EQ(h->emulator().base_url().rfind("https://", 0), 0u);
  grpc::Status st = Get(*h);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ErrorInfoOf(st).reason(), "LEAF_UNREACHABLE");
  EXPECT_NE(st.error_message().find("TLS"), std::string::npos) << st.error_message();
  // The handshake failed, so no request reached Leaf.
  EXPECT_EQ(h->emulator().CountRequests("", "ag-leader-credentials"), 0);
}

TEST_F(UpstreamTlsTest, TrustedPrivateCaWorks) {
  auto h = Start(ca_file_);
  ASSERT_NE(h, nullptr);
  grpc::Status st = Get(*h);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  v1::Credentials created = h->Create(kUserA);
  EXPECT_FALSE(created.id().empty());
}

TEST_F(UpstreamTlsTest, AnotherCaDoesNotHelp) {
  TestCa other("Some Other CA");
  auto h = Start(WriteTempFile("other-ca.pem", other.cert_pem()));
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(Get(*h).error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace leafsvc::testing
