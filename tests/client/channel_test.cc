// Channel setup: the service config (built in, from a file, or none), TLS
// settings and their files, the TLS target name, and call deadlines.
#include "client/channel.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security_constants.h>

#include <chrono>
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/client/test_util.h"

namespace leafsvc::client {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ChannelTest : public ClientTest {};

// The string value of channel argument `key`, or nullopt.
std::optional<std::string> StringArg(const ClientOptions& options, const std::string& key) {
  grpc::ChannelArguments args = MakeChannelArguments(options);
  grpc_channel_args c_args = args.c_channel_args();
  for (size_t i = 0; i < c_args.num_args; ++i) {
    if (key == c_args.args[i].key) return std::string(c_args.args[i].value.string);
  }
  return std::nullopt;
}

// Files that look like PEM to LoadTlsFiles (the handshake itself is tested
// against a real server in secure_channel_test).
constexpr char kCertPem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
constexpr char kKeyPem[] =
    "-----BEGIN PRIVATE KEY-----\nSECRET-KEY-BODY\n-----END PRIVATE KEY-----\n";

TEST_F(ChannelTest, DefaultServiceConfigRetriesReadsAndDeletesButNeverCreates) {
  ParseResult r = Parse({"get", "--leaf_user_id", kUser});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  rapidjson::Document doc;
  doc.Parse(r.invocation.options.service_config_json.c_str());
  ASSERT_TRUE(doc.IsObject());
  std::set<std::string> retried, not_retried;
  for (const auto& config : doc["methodConfig"].GetArray()) {
    for (const auto& name : config["name"].GetArray()) {
      (config.HasMember("retryPolicy") ? retried : not_retried).insert(name["method"].GetString());
    }
    if (config.HasMember("retryPolicy")) {
      const auto& codes = config["retryPolicy"]["retryableStatusCodes"];
      ASSERT_EQ(codes.Size(), 1u);
      EXPECT_STREQ(codes[0].GetString(), "UNAVAILABLE");
    }
  }
  EXPECT_EQ(retried,
            (std::set<std::string>{"GetCredentials", "ListCredentialEvents", "DeleteCredentials"}));
  EXPECT_EQ(not_retried, std::set<std::string>{"CreateCredentials"});
}

TEST_F(ChannelTest, ServiceConfigNoneTurnsItOff) {
  ParseResult r = Parse({"get", "--leaf_user_id", kUser, "--service_config", "none"});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_TRUE(r.invocation.options.service_config_json.empty());
}

TEST_F(ChannelTest, ServiceConfig) {
  std::string config = R"({"methodConfig": [{"name": [{"service": )"
                       R"("leaf.agleader.v1.AgLeaderCredentials"}], )"
                       R"("timeout": "5s"}]})";
  std::string path = WriteFile("service_config.json", config);
  ParseResult r = Parse({"get", "--leaf_user_id", kUser, "--service_config", path});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.options.service_config_json, config);

  grpc::ChannelArguments args = MakeChannelArguments(r.invocation.options);
  grpc_channel_args c_args = args.c_channel_args();
  bool has_config = false, has_retries = false;
  for (size_t i = 0; i < c_args.num_args; ++i) {
    std::string key = c_args.args[i].key;
    if (key == GRPC_ARG_SERVICE_CONFIG) {
      has_config = true;
      EXPECT_EQ(std::string(c_args.args[i].value.string), config);
    }
    if (key == "grpc.enable_retries") {
      has_retries = true;
      EXPECT_EQ(c_args.args[i].value.integer, 1);
    }
  }
  EXPECT_TRUE(has_config);
  EXPECT_TRUE(has_retries);

  r = Parse({"get", "--leaf_user_id", kUser, "--service_config",
             WriteFile("bad_config.json", "{not json")});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
  r = Parse({"get", "--leaf_user_id", kUser, "--service_config", TempPath("missing.json")});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
}

TEST_F(ChannelTest, TimeoutSetsTheDeadline) {
  ClientOptions options;
  options.timeout = absl::Seconds(30);
  grpc::ClientContext context;
  auto before = std::chrono::system_clock::now();
  ApplyTimeout(options, &context);
  auto deadline = context.deadline();
  EXPECT_GT(deadline, before + std::chrono::seconds(29));
  EXPECT_LT(deadline, before + std::chrono::seconds(31));

  options.timeout = absl::ZeroDuration();
  grpc::ClientContext no_deadline;
  ApplyTimeout(options, &no_deadline);
  EXPECT_GT(no_deadline.deadline(),
            std::chrono::system_clock::now() + std::chrono::hours(24 * 365));
}

TEST_F(ChannelTest, TlsFlagsReadTheirFiles) {
  std::string ca = WriteFile("tls_ca.pem", kCertPem);
  std::string cert = WriteFile("tls_cert.pem", kCertPem);
  std::string key = WriteFile("tls_key.pem", kKeyPem);
  ParseResult r = Parse({"get", "--leaf_user_id", kUser, "--ca_file", ca, "--cert_file", cert,
                         "--key_file", key, "--server_name", "agleader.internal"});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  const TlsOptions& tls = r.invocation.options.tls;
  EXPECT_TRUE(tls.enabled);  // implied by the files
  EXPECT_EQ(tls.ca_pem, kCertPem);
  EXPECT_EQ(tls.cert_pem, kCertPem);
  EXPECT_EQ(tls.key_pem.Reveal(), kKeyPem);
  EXPECT_EQ(tls.server_name, "agleader.internal");
  EXPECT_EQ(StringArg(r.invocation.options, GRPC_SSL_TARGET_NAME_OVERRIDE_ARG),
            "agleader.internal");
}

TEST_F(ChannelTest, TlsFromTheEnvironment) {
  setenv("AGLEADER_CLIENT_TLS", "true", 1);
  ParseResult r = Parse({"get", "--leaf_user_id", kUser});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_TRUE(r.invocation.options.tls.enabled);
  EXPECT_TRUE(r.invocation.options.tls.ca_pem.empty());  // default roots

  unsetenv("AGLEADER_CLIENT_TLS");
  setenv("AGLEADER_CLIENT_TLS_CA_FILE", WriteFile("env_ca.pem", kCertPem).c_str(), 1);
  r = Parse({"get", "--leaf_user_id", kUser});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_TRUE(r.invocation.options.tls.enabled);
  EXPECT_EQ(r.invocation.options.tls.ca_pem, kCertPem);
}

TEST_F(ChannelTest, ServerNameOnlyWithTls) {
  ClientOptions options;
  options.tls.server_name = "agleader.internal";
  EXPECT_EQ(StringArg(options, GRPC_SSL_TARGET_NAME_OVERRIDE_ARG), std::nullopt);
  options.tls.enabled = true;
  EXPECT_EQ(StringArg(options, GRPC_SSL_TARGET_NAME_OVERRIDE_ARG), "agleader.internal");
}

TEST_F(ChannelTest, BadTlsSettingsAreUsageErrors) {
  std::string cert = WriteFile("bad_tls_cert.pem", kCertPem);
  std::string key = WriteFile("bad_tls_key.pem", kKeyPem);
  std::string not_pem = WriteFile("not_pem.txt", "SECRET-KEY-BODY\n");
  struct Case {
    std::vector<std::string> flags;
    std::string expected;
  };
  for (const Case& c : std::vector<Case>{
           {{"--cert_file", cert}, "needs both --cert_file and --key_file"},
           {{"--key_file", key}, "needs both --cert_file and --key_file"},
           {{"--ca_file", not_pem}, "--ca_file: \"" + not_pem + "\" holds no PEM certificate"},
           {{"--ca_file", key}, "holds no PEM certificate"},
           {{"--cert_file", cert, "--key_file", not_pem},
            "--key_file: \"" + not_pem + "\" holds no PEM private key"},
           {{"--ca_file", TempPath("missing_ca.pem")}, "--ca_file: cannot open"},
       }) {
    std::vector<std::string> args = {"get", "--leaf_user_id", kUser};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    ParseResult r = Parse(args);
    EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError) << c.expected;
    EXPECT_THAT(r.message, HasSubstr(c.expected));
    EXPECT_THAT(r.message, Not(HasSubstr("SECRET-KEY-BODY")));
  }
}

}  // namespace
}  // namespace leafsvc::client
