// The CLI against a real service started with TLS, mutual TLS and API keys
// (throwaway certificates made at test time): what gets through, and the
// failures with their codes, messages and hints.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "client/invocation.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/test_util.h"
#include "tests/integration/harness.h"
#include "tests/security/test_pki.h"

namespace leafsvc::client {
namespace {

using ::leafsvc::testing::CertAndKey;
using ::leafsvc::testing::Harness;
using ::leafsvc::testing::TestCa;
using ::leafsvc::testing::WriteTempFile;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kOtherKey[] = "api-key-not-accepted-0123456789";

// Files of one throwaway PKI, made once for the whole test binary.
struct Pki {
  TestCa ca{"agleader test CA"};
  TestCa other_ca{"some other CA"};
  CertAndKey server = ca.IssueServer("localhost");
  CertAndKey client = ca.IssueClient("test caller");
  CertAndKey stranger = other_ca.IssueClient("stranger");
  std::string ca_file = WriteTempFile("ca.pem", ca.cert_pem());
  std::string other_ca_file = WriteTempFile("other_ca.pem", other_ca.cert_pem());
  std::string server_cert = WriteTempFile("server.pem", server.cert_pem);
  std::string server_key = WriteTempFile("server.key", server.key_pem);
  std::string client_cert = WriteTempFile("client.pem", client.cert_pem);
  std::string client_key = WriteTempFile("client.key", client.key_pem);
  std::string stranger_cert = WriteTempFile("stranger.pem", stranger.cert_pem);
  std::string stranger_key = WriteTempFile("stranger.key", stranger.key_pem);
  std::string keys_file = WriteTempFile("api_keys", std::string(kApiKey) + "\n");
  std::string client_key_file = WriteTempFile("my_api_key", std::string(kApiKey) + "\n");
};

const Pki& TestPki() {
  static const Pki* pki = new Pki;
  return *pki;
}

struct Security {
  bool tls = false;
  bool mutual_tls = false;
  bool api_keys = false;
};

class SecureChannelTest : public ClientTest {
 protected:
  void Start(Security security) {
    harness_ = Harness::Start(nullptr, [&](ServerConfig& c) {
      if (security.tls || security.mutual_tls) {
        c.security.tls_cert_file = TestPki().server_cert;
        c.security.tls_key_file = TestPki().server_key;
      }
      if (security.mutual_tls) c.security.client_ca_file = TestPki().ca_file;
      if (security.api_keys) c.security.api_keys_file = TestPki().keys_file;
    });
    ASSERT_NE(harness_, nullptr);
  }

  // "delete --allow_missing" of kUser with `flags` before the command: a
  // call that succeeds (exit 0) once it reaches Leaf. Calls are not retried,
  // so a refusal shows at once.
  CliResult Delete(std::vector<std::string> flags) {
    flags.insert(flags.begin(), {"--server=" + harness_->app().target(), "--service_config=none"});
    flags.insert(flags.end(), {"delete", "--leaf_user_id", kUser, "--allow_missing"});
    return RunCli(flags);
  }

  int LeafCalls() { return harness_->emulator().CountRequests("", "/ag-leader-credentials"); }

  std::unique_ptr<Harness> harness_;
};

void ExpectReachedLeaf(const CliResult& r) {
  EXPECT_EQ(r.exit_code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("deleted AgLeader credentials of user"));
  EXPECT_EQ(r.err, "");
}

void ExpectTlsFailure(const CliResult& r) {
  EXPECT_EQ(r.exit_code, kExitRpcError);
  EXPECT_THAT(r.err, StartsWith("error: UNAVAILABLE (14): "));
  EXPECT_THAT(r.err, HasSubstr("hint: over TLS this is often a failed handshake"));
  EXPECT_THAT(r.err, HasSubstr("--ca_file must hold the CA that signed"));
  EXPECT_EQ(r.out, "");
}

// ---- TLS ---------------------------------------------------------------------

TEST_F(SecureChannelTest, TlsWithTheServersCaGetsThrough) {
  Start({.tls = true});
  ExpectReachedLeaf(Delete({"--ca_file", TestPki().ca_file}));
  ExpectReachedLeaf(Delete({"--tls", "--ca_file=" + TestPki().ca_file}));
  // The certificate names localhost too.
  ExpectReachedLeaf(Delete({"--ca_file", TestPki().ca_file, "--server_name", "localhost"}));
  EXPECT_EQ(LeafCalls(), 3);

  // Every command, readable and JSON, over TLS.
  const std::string server = "--server=" + harness_->app().target();
  const std::string ca = "--ca_file=" + TestPki().ca_file;
  CliResult r = RunCli({server, ca, "create", "--leaf_user_id", kUser, "--public_key", "pk",
                        "--refresh_token", kRefreshToken, "--private_key", kPrivateKey});
  ASSERT_EQ(r.exit_code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("(CREDENTIAL_STATUS_OK)"));
  r = RunCli({server, ca, "--json", "get", "--leaf_user_id", kUser});
  ASSERT_EQ(r.exit_code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"refreshTokenHint\": \"****cdef\""));
  r = RunCli({server, ca, "events", "--leaf_user_id", kUser, "--all"});
  ASSERT_EQ(r.exit_code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("status code: "));
}

TEST_F(SecureChannelTest, TlsSettingsFromTheEnvironment) {
  Start({.mutual_tls = true});
  setenv("AGLEADER_CLIENT_TLS_CA_FILE", TestPki().ca_file.c_str(), 1);
  setenv("AGLEADER_CLIENT_CERT_FILE", TestPki().client_cert.c_str(), 1);
  setenv("AGLEADER_CLIENT_KEY_FILE", TestPki().client_key.c_str(), 1);
  setenv("AGLEADER_CLIENT_SERVER_NAME", "localhost", 1);
  ExpectReachedLeaf(Delete({}));
}

TEST_F(SecureChannelTest, WrongCaIsUnavailableWithAClearMessage) {
  Start({.tls = true});
  CliResult r = Delete({"--ca_file", TestPki().other_ca_file});
  ExpectTlsFailure(r);
  // The cause, in gRPC's words, before the hint.
  EXPECT_THAT(r.err, HasSubstr("certificate verify failed"));
  EXPECT_EQ(LeafCalls(), 0);
}

TEST_F(SecureChannelTest, NameNotInTheCertificateIsUnavailable) {
  Start({.tls = true});
  ExpectTlsFailure(
      Delete({"--ca_file", TestPki().ca_file, "--server_name", "not-this-server.example"}));
  EXPECT_EQ(LeafCalls(), 0);
}

TEST_F(SecureChannelTest, PlaintextAgainstTlsAndTlsAgainstPlaintextAreUnavailable) {
  Start({.tls = true});
  CliResult r = Delete({});
  EXPECT_EQ(r.exit_code, kExitRpcError);
  EXPECT_THAT(r.err, StartsWith("error: UNAVAILABLE (14): "));
  Start({});
  ExpectTlsFailure(Delete({"--ca_file", TestPki().ca_file}));
  EXPECT_EQ(LeafCalls(), 0);
}

// ---- mutual TLS ----------------------------------------------------------------

TEST_F(SecureChannelTest, MutualTlsNeedsACertificateFromTheClientCa) {
  Start({.mutual_tls = true});
  ExpectReachedLeaf(Delete({"--ca_file", TestPki().ca_file, "--cert_file", TestPki().client_cert,
                            "--key_file", TestPki().client_key}));
  EXPECT_EQ(LeafCalls(), 1);

  CliResult r = Delete({"--ca_file", TestPki().ca_file});
  ExpectTlsFailure(r);
  EXPECT_THAT(r.err, HasSubstr("needs --cert_file and --key_file"));
  ExpectTlsFailure(Delete({"--ca_file", TestPki().ca_file, "--cert_file", TestPki().stranger_cert,
                           "--key_file", TestPki().stranger_key}));
  EXPECT_EQ(LeafCalls(), 1);
}

TEST_F(SecureChannelTest, ClientKeyFileContentNeverPrinted) {
  Start({.mutual_tls = true});
  // A mismatched certificate and key: the handshake fails; the key stays out.
  CliResult r = Delete({"--ca_file", TestPki().ca_file, "--cert_file", TestPki().client_cert,
                        "--key_file", TestPki().stranger_key});
  EXPECT_EQ(r.exit_code, kExitRpcError);
  EXPECT_THAT(r.err, Not(HasSubstr("PRIVATE KEY")));
}

// ---- API keys ------------------------------------------------------------------

class SecureChannelApiKeyTest : public SecureChannelTest,
                                public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    SecureChannelTest::SetUp();
    Start({.tls = GetParam(), .api_keys = true});
    if (GetParam()) tls_ = {"--ca_file", TestPki().ca_file};
  }
  CliResult DeleteWith(std::vector<std::string> flags) {
    flags.insert(flags.begin(), tls_.begin(), tls_.end());
    return Delete(flags);
  }
  std::vector<std::string> tls_;
};

TEST_P(SecureChannelApiKeyTest, MissingKeyIsUnauthenticated) {
  CliResult r = DeleteWith({});
  EXPECT_EQ(r.exit_code, kExitRpcError);
  EXPECT_THAT(r.err, StartsWith("error: UNAUTHENTICATED (16): this server needs an API key"));
  EXPECT_THAT(r.err, HasSubstr("hint: give the API key with --api_key_file PATH"));
  EXPECT_EQ(LeafCalls(), 0);
}

TEST_P(SecureChannelApiKeyTest, WrongKeyIsUnauthenticatedAndNotPrinted) {
  CliResult r = DeleteWith({"--api_key", kOtherKey});
  EXPECT_EQ(r.exit_code, kExitRpcError);
  EXPECT_THAT(r.err, StartsWith("error: UNAUTHENTICATED (16): API key not accepted"));
  EXPECT_THAT(r.err, HasSubstr("hint: the server refused the API key given"));
  EXPECT_THAT(r.err, Not(HasSubstr(kOtherKey)));
  EXPECT_EQ(LeafCalls(), 0);
}

TEST_P(SecureChannelApiKeyTest, KeyFromFlagFileOrEnvironmentGetsThrough) {
  ExpectReachedLeaf(DeleteWith({"--api_key", kApiKey}));
  ExpectReachedLeaf(DeleteWith({"--api_key_file", TestPki().client_key_file}));
  setenv("AGLEADER_CLIENT_API_KEY", kApiKey, 1);
  ExpectReachedLeaf(DeleteWith({}));
  unsetenv("AGLEADER_CLIENT_API_KEY");
  setenv("AGLEADER_CLIENT_API_KEY_FILE", TestPki().client_key_file.c_str(), 1);
  ExpectReachedLeaf(DeleteWith({}));
  EXPECT_EQ(LeafCalls(), 4);
  // The key is the caller's, never forwarded to Leaf.
  for (const auto& request : harness_->emulator().Requests()) {
    for (const auto& [name, value] : request.headers) {
      EXPECT_THAT(value, Not(HasSubstr(kApiKey))) << name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(PlaintextAndTls, SecureChannelApiKeyTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return std::string(info.param ? "Tls" : "Plaintext");
                         });

TEST_F(SecureChannelTest, MutualTlsAndApiKeyTogether) {
  Start({.mutual_tls = true, .api_keys = true});
  const std::vector<std::string> cert = {"--ca_file",   TestPki().ca_file,
                                         "--cert_file", TestPki().client_cert,
                                         "--key_file",  TestPki().client_key};
  CliResult r = Delete(cert);
  EXPECT_THAT(r.err, StartsWith("error: UNAUTHENTICATED (16): "));
  ExpectTlsFailure(Delete({"--ca_file", TestPki().ca_file, "--api_key", kApiKey}));
  std::vector<std::string> both = cert;
  both.insert(both.end(), {"--api_key", kApiKey});
  ExpectReachedLeaf(Delete(both));
  EXPECT_EQ(LeafCalls(), 1);
}

}  // namespace
}  // namespace leafsvc::client
