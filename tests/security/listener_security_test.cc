// The listener security flags: how they are read and checked at parse time,
// that no error or help text shows a key, and the credentials they build.
#include "server/security/listener_security.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/config/config.h"
#include "tests/security/test_pki.h"

namespace leafsvc {
namespace {

using ::leafsvc::testing::TestCa;
using ::leafsvc::testing::WriteTempFile;

constexpr char kKey[] = "listener-key-0123456789abcdef";

// ParseServerConfig over `args` (after the program name), with a Leaf token.
absl::StatusOr<ParsedConfig> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), {"agleader_credentials_server", "--leaf_token=t"});
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return ParseServerConfig(static_cast<int>(argv.size()), argv.data());
}

// The error of a parse expected to fail (fails the test if it succeeded).
absl::Status ParseError(std::vector<std::string> args) {
  absl::StatusOr<ParsedConfig> parsed = Parse(std::move(args));
  EXPECT_FALSE(parsed.ok());
  return parsed.ok() ? absl::OkStatus() : parsed.status();
}

class ListenerSecurityFlagsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    TestCa ca("flags test CA");
    const auto server = ca.IssueServer("localhost");
    ca_file_ = new std::string(WriteTempFile("flags_ca.pem", ca.cert_pem()));
    cert_file_ = new std::string(WriteTempFile("flags_server.pem", server.cert_pem));
    key_file_ = new std::string(WriteTempFile("flags_server.key", server.key_pem));
    TestCa other("another CA");
    other_key_file_ =
        new std::string(WriteTempFile("flags_other.key", other.IssueServer("x").key_pem));
  }

  static std::string* ca_file_;
  static std::string* cert_file_;
  static std::string* key_file_;
  static std::string* other_key_file_;
};
std::string* ListenerSecurityFlagsTest::ca_file_;
std::string* ListenerSecurityFlagsTest::cert_file_;
std::string* ListenerSecurityFlagsTest::key_file_;
std::string* ListenerSecurityFlagsTest::other_key_file_;

TEST_F(ListenerSecurityFlagsTest, DefaultsLeaveTheListenerOpen) {
  auto parsed = Parse({});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const ListenerSecurityOptions& s = parsed->config.security;
  EXPECT_TRUE(s.tls_cert_file.empty());
  EXPECT_TRUE(s.api_keys.empty());
  EXPECT_FALSE(s.protect_health_and_reflection);
  EXPECT_TRUE(CallersUnauthenticated(s));
}

TEST_F(ListenerSecurityFlagsTest, ReadsEveryFlag) {
  const std::string keys = WriteTempFile("flags_keys_ok", std::string(kKey) + "\n");
  auto parsed =
      Parse({"--tls_cert_file=" + *cert_file_, "--tls_key_file=" + *key_file_,
             "--client_ca_file=" + *ca_file_, "--api_keys_file=" + keys,
             "--api_keys=second-key-0123456789abcdef", "--protect_health_and_reflection"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const ListenerSecurityOptions& s = parsed->config.security;
  EXPECT_EQ(s.tls_cert_file, *cert_file_);
  EXPECT_EQ(s.tls_key_file, *key_file_);
  EXPECT_EQ(s.client_ca_file, *ca_file_);
  EXPECT_EQ(s.api_keys_file, keys);
  EXPECT_EQ(s.api_keys.Reveal(), "second-key-0123456789abcdef");
  EXPECT_TRUE(s.protect_health_and_reflection);
  EXPECT_FALSE(CallersUnauthenticated(s));
}

TEST_F(ListenerSecurityFlagsTest, ApiKeysComeFromTheEnvironmentTwin) {
  setenv("AGLEADER_API_KEYS", kKey, 1);
  auto parsed = Parse({});
  unsetenv("AGLEADER_API_KEYS");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->config.security.api_keys.Reveal(), kKey);
  EXPECT_FALSE(CallersUnauthenticated(parsed->config.security));
}

TEST_F(ListenerSecurityFlagsTest, CertificateWithoutKeyIsInvalidArgument) {
  absl::Status st = ParseError({"--tls_cert_file=" + *cert_file_});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("--tls_key_file is missing"), std::string::npos) << st;
}

TEST_F(ListenerSecurityFlagsTest, KeyWithoutCertificateIsInvalidArgument) {
  absl::Status st = ParseError({"--tls_key_file=" + *key_file_});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("--tls_cert_file is missing"), std::string::npos) << st;
}

TEST_F(ListenerSecurityFlagsTest, ClientCaWithoutTlsIsInvalidArgument) {
  absl::Status st = ParseError({"--client_ca_file=" + *ca_file_});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("--client_ca_file"), std::string::npos) << st;
  EXPECT_NE(st.message().find("needs TLS"), std::string::npos) << st;
}

TEST_F(ListenerSecurityFlagsTest, MissingKeysFileIsInvalidArgumentNamingFlagAndFile) {
  absl::Status st = ParseError({"--api_keys_file=/nonexistent/agleader-keys"});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("--api_keys_file"), std::string::npos) << st;
  EXPECT_NE(st.message().find("/nonexistent/agleader-keys"), std::string::npos) << st;
}

TEST_F(ListenerSecurityFlagsTest, KeysFileWithOnlyCommentsIsInvalidArgument) {
  const std::string path = WriteTempFile("flags_keys_empty", "# no keys yet\n\n");
  absl::Status st = ParseError({"--api_keys_file=" + path});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("holds no key"), std::string::npos) << st;
}

TEST_F(ListenerSecurityFlagsTest, BadKeyInFileIsReportedWithoutItsValue) {
  const std::string path = WriteTempFile("flags_keys_bad", std::string(kKey) + "\nshort-key-42\n");
  absl::Status st = ParseError({"--api_keys_file=" + path});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("line 2"), std::string::npos) << st;
  EXPECT_EQ(st.message().find("short-key-42"), std::string::npos) << st;
  EXPECT_EQ(st.message().find(kKey), std::string::npos) << st;
}

TEST_F(ListenerSecurityFlagsTest, BadKeyInFlagOrEnvironmentIsReportedWithoutAnyKey) {
  const std::string list = std::string(kKey) + ",short-key-42";
  for (bool from_env : {false, true}) {
    if (from_env) setenv("AGLEADER_API_KEYS", list.c_str(), 1);
    absl::Status st = from_env ? ParseError({}) : ParseError({"--api_keys=" + list});
    unsetenv("AGLEADER_API_KEYS");
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(st.message().find("--api_keys"), std::string::npos) << st;
    EXPECT_EQ(st.message().find("short-key-42"), std::string::npos) << st;
    EXPECT_EQ(st.message().find(kKey), std::string::npos) << st;
  }
}

TEST_F(ListenerSecurityFlagsTest, HelpDoesNotShowApiKeys) {
  setenv("AGLEADER_API_KEYS", kKey, 1);
  auto parsed = Parse({"--help"});
  unsetenv("AGLEADER_API_KEYS");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_NE(parsed->help.find("AGLEADER_API_KEYS"), std::string::npos);
  EXPECT_NE(parsed->help.find("AGLEADER_CLIENT_CA_FILE"), std::string::npos);
  EXPECT_EQ(parsed->help.find(kKey), std::string::npos);
}

TEST_F(ListenerSecurityFlagsTest, UnreadableCertificateNamesFlagAndFile) {
  absl::Status st =
      ParseError({"--tls_cert_file=/nonexistent/server.pem", "--tls_key_file=" + *key_file_});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("--tls_cert_file: cannot read /nonexistent/server.pem"),
            std::string::npos)
      << st;
}

TEST_F(ListenerSecurityFlagsTest, FileWithoutCertificateNamesFlagAndFileButNotItsContent) {
  const std::string junk = WriteTempFile("flags_junk.pem", "not-a-certificate-XYZZY\n");
  absl::Status st = ParseError({"--tls_cert_file=" + junk, "--tls_key_file=" + *key_file_});
  EXPECT_NE(st.message().find("--tls_cert_file"), std::string::npos) << st;
  EXPECT_NE(st.message().find(junk), std::string::npos) << st;
  EXPECT_EQ(st.message().find("XYZZY"), std::string::npos) << st;
}

TEST_F(ListenerSecurityFlagsTest, InvalidKeyFileNamesFlagAndFileButNotItsContent) {
  const std::string junk = WriteTempFile("flags_junk.key", "-----BEGIN PRIVATE KEY-----\nXYZZY\n");
  absl::Status st = ParseError({"--tls_cert_file=" + *cert_file_, "--tls_key_file=" + junk});
  EXPECT_NE(st.message().find("--tls_key_file: " + junk), std::string::npos) << st;
  EXPECT_EQ(st.message().find("XYZZY"), std::string::npos) << st;
}

TEST_F(ListenerSecurityFlagsTest, KeyOfAnotherCertificateIsRefused) {
  absl::Status st =
      ParseError({"--tls_cert_file=" + *cert_file_, "--tls_key_file=" + *other_key_file_});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("is not the private key of the certificate"), std::string::npos)
      << st;
}

TEST_F(ListenerSecurityFlagsTest, ClientCaFileWithoutCertificateIsRefused) {
  const std::string junk = WriteTempFile("flags_junk_ca.pem", "nothing here\n");
  absl::Status st = ParseError({"--tls_cert_file=" + *cert_file_, "--tls_key_file=" + *key_file_,
                                "--client_ca_file=" + junk});
  EXPECT_NE(st.message().find("--client_ca_file: " + junk + " holds no PEM certificate"),
            std::string::npos)
      << st;
}

TEST_F(ListenerSecurityFlagsTest, BuildServerCredentialsRechecksTheFiles) {
  ListenerSecurityOptions o;
  o.api_keys_file = "/nonexistent/agleader-keys";
  auto creds = BuildServerCredentials(o);
  ASSERT_FALSE(creds.ok());
  EXPECT_EQ(creds.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(creds.status().message().find("--api_keys_file"), std::string::npos);
}

TEST_F(ListenerSecurityFlagsTest, TlsWithoutCallerAuthStillCountsAsUnauthenticated) {
  ListenerSecurityOptions o;
  o.tls_cert_file = *cert_file_;
  o.tls_key_file = *key_file_;
  EXPECT_TRUE(CallersUnauthenticated(o));
  o.client_ca_file = *ca_file_;
  EXPECT_FALSE(CallersUnauthenticated(o));
}

}  // namespace
}  // namespace leafsvc
