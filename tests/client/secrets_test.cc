// Secrets: create's refresh token, private key and access token, and the
// API key, from flags, stdin, files and the environment, in precedence
// order, with errors that never show a secret; and redaction.
#include "client/secrets.h"

#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/test_util.h"

namespace leafsvc::client {
namespace {

using ::leaf::agleader::v1::CREDENTIALS_VIEW_FULL;
using ::testing::HasSubstr;
using ::testing::Not;

class SecretsTest : public ClientTest {};

TEST_F(SecretsTest, CreateWithSecretFlags) {
  ParseResult r = Parse({"create", "--leaf_user_id", kUser, "--public_key", "pk", "--refresh_token",
                         kRefreshToken, "--private_key", kPrivateKey, "--access_token",
                         kAccessToken, "--view=full"});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  const auto& req = r.invocation.create_request;
  EXPECT_EQ(req.leaf_user_id(), kUser);
  EXPECT_EQ(req.public_key(), "pk");
  EXPECT_EQ(req.refresh_token(), kRefreshToken);
  EXPECT_EQ(req.private_key(), kPrivateKey);
  EXPECT_EQ(req.access_token(), kAccessToken);
  EXPECT_EQ(req.view(), CREDENTIALS_VIEW_FULL);
  EXPECT_EQ(r.invocation.secrets.size(), 3u);
}

TEST_F(SecretsTest, SecretsFromEnvironment) {
  setenv("AGLEADER_CLIENT_REFRESH_TOKEN", kRefreshToken, 1);
  setenv("AGLEADER_CLIENT_PRIVATE_KEY", kPrivateKey, 1);
  setenv("AGLEADER_CLIENT_ACCESS_TOKEN", kAccessToken, 1);
  ParseResult r = Parse({"create", "--leaf_user_id", kUser, "--public_key", "pk"});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  const auto& req = r.invocation.create_request;
  EXPECT_EQ(req.refresh_token(), kRefreshToken);
  EXPECT_EQ(req.private_key(), kPrivateKey);
  EXPECT_EQ(req.access_token(), kAccessToken);
}

TEST_F(SecretsTest, SecretsFromStdin) {
  std::string in = std::string("# secrets\n\nrefresh_token=") + kRefreshToken +
                   "\r\nprivate_key=" + kPrivateKey + "\naccess_token=a=b=c\n";
  ParseResult r =
      Parse({"create", "--leaf_user_id", kUser, "--public_key", "pk", "--secrets_from_stdin"}, in);
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  const auto& req = r.invocation.create_request;
  EXPECT_EQ(req.refresh_token(), kRefreshToken);
  EXPECT_EQ(req.private_key(), kPrivateKey);
  EXPECT_EQ(req.access_token(), "a=b=c");
}

TEST_F(SecretsTest, StdinIsIgnoredWithoutTheFlag) {
  ParseResult r = Parse({"create", "--leaf_user_id", kUser, "--public_key", "pk"},
                        std::string("refresh_token=") + kRefreshToken + "\n");
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.create_request.refresh_token(), "");
}

TEST_F(SecretsTest, SecretPrecedence) {
  // Private key from all four sources: the command line wins, then stdin,
  // then the file, then the environment.
  std::string file = WriteFile("key_precedence", "from-file-key\n");
  setenv("AGLEADER_CLIENT_PRIVATE_KEY", "from-env-key", 1);
  setenv("AGLEADER_CLIENT_REFRESH_TOKEN", "from-env-refresh", 1);
  setenv("AGLEADER_CLIENT_ACCESS_TOKEN", "from-env-access", 1);
  std::vector<std::string> base = {"create", "--leaf_user_id", kUser, "--public_key", "pk"};

  auto args = base;
  args.insert(args.end(), {"--private_key=from-flag-key", "--secrets_from_stdin", "--refresh_token",
                           "from-flag-refresh"});
  ParseResult r = Parse(args,
                        "private_key=from-stdin-key\n"
                        "refresh_token=from-stdin-refresh\n");
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.create_request.private_key(), "from-flag-key");
  EXPECT_EQ(r.invocation.create_request.refresh_token(), "from-flag-refresh");
  EXPECT_EQ(r.invocation.create_request.access_token(), "from-env-access");
  // Every value seen is redacted, winner or not.
  EXPECT_EQ(Redact("from-env-key from-stdin-key", r.invocation.secrets), "[redacted] [redacted]");

  args = base;
  args.insert(args.end(), {"--private_key_file", file, "--secrets_from_stdin"});
  r = Parse(args, "private_key=from-stdin-key\n");
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.create_request.private_key(), "from-stdin-key");
  EXPECT_EQ(r.invocation.create_request.refresh_token(), "from-env-refresh");

  args = base;
  args.insert(args.end(), {"--private_key_file=" + file});
  r = Parse(args);
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.create_request.private_key(), "from-file-key");

  r = Parse(base);
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.create_request.private_key(), "from-env-key");
}

TEST_F(SecretsTest, PrivateKeyAndKeyFileTogetherIsAUsageError) {
  std::string file = WriteFile("key_both", "k\n");
  ParseResult r = Parse({"create", "--leaf_user_id", kUser, "--public_key", "pk", "--private_key",
                         kPrivateKey, "--private_key_file", file});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
  EXPECT_THAT(r.message, Not(HasSubstr(kPrivateKey)));
}

TEST_F(SecretsTest, ReadPrivateKeyFileStripsOneTrailingNewline) {
  EXPECT_EQ(*ReadPrivateKeyFile(WriteFile("k1", "abc\n")), "abc");
  EXPECT_EQ(*ReadPrivateKeyFile(WriteFile("k2", "abc\r\n")), "abc");
  EXPECT_EQ(*ReadPrivateKeyFile(WriteFile("k3", "abc\n\n")), "abc\n");
  EXPECT_EQ(*ReadPrivateKeyFile(WriteFile("k4", "abc")), "abc");
  EXPECT_FALSE(ReadPrivateKeyFile(TempPath("does-not-exist")).ok());

  ParseResult r = Parse({"create", "--leaf_user_id", kUser, "--public_key", "pk",
                         "--private_key_file", TempPath("nope")});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
  EXPECT_THAT(r.message, HasSubstr("--private_key_file"));
}

TEST_F(SecretsTest, ReadSecretsErrorsNeverShowTheLine) {
  struct Case {
    std::string input;
    std::string expected;
  };
  for (const Case& c : std::vector<Case>{
           {std::string(kRefreshToken) + "\n", "line 1"},
           {std::string("\nbogus_") + kRefreshToken + "=x\n", "line 2"},
           {std::string("refresh_token=") + kRefreshToken + "\nrefresh_token=" + kRefreshToken +
                "\n",
            "twice"},
       }) {
    std::istringstream in(c.input);
    absl::StatusOr<StdinSecrets> secrets = ReadSecrets(in);
    ASSERT_FALSE(secrets.ok()) << c.expected;
    EXPECT_THAT(std::string(secrets.status().message()), HasSubstr(c.expected));
    EXPECT_THAT(std::string(secrets.status().message()), Not(HasSubstr(kRefreshToken)));

    ParseResult r = Parse(
        {"create", "--leaf_user_id", kUser, "--public_key", "pk", "--secrets_from_stdin"}, c.input);
    EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
    EXPECT_THAT(r.message, Not(HasSubstr(kRefreshToken)));
  }
}

TEST_F(SecretsTest, ReadSecretsEmptyInput) {
  std::istringstream in("");
  absl::StatusOr<StdinSecrets> secrets = ReadSecrets(in);
  ASSERT_TRUE(secrets.ok());
  EXPECT_FALSE(secrets->refresh_token.has_value());
  EXPECT_FALSE(secrets->private_key.has_value());
  EXPECT_FALSE(secrets->access_token.has_value());
}

TEST_F(SecretsTest, Redact) {
  EXPECT_EQ(Redact("a secret-value b secret-value", {"secret-value"}), "a [redacted] b [redacted]");
  // Too short to redact safely.
  EXPECT_EQ(Redact("OK true", {"OK", "true"}), "OK true");
  // A secret containing another is removed whole.
  EXPECT_EQ(Redact("x abcdefghij y", {"cdefgh", "abcdefghij"}), "x [redacted] y");
}

// ---------------------------------------------------------------------------
// API key

constexpr char kFileKey[] = "api-key-from-file-0123456789";
constexpr char kEnvKey[] = "api-key-from-env-0123456789";

TEST_F(SecretsTest, ApiKeyFromFlagFileOrEnvironment) {
  ParseResult r = Parse({"get", "--leaf_user_id", kUser, "--api_key", kApiKey});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.options.api_key.Reveal(), kApiKey);
  EXPECT_EQ(r.invocation.secrets, std::vector<std::string>{kApiKey});

  std::string file =
      WriteFile("api_key", std::string("# the key of this caller\n\n  ") + kFileKey + " \r\n\n");
  r = Parse({"get", "--leaf_user_id", kUser, "--api_key_file", file});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.options.api_key.Reveal(), kFileKey);

  setenv("AGLEADER_CLIENT_API_KEY", kEnvKey, 1);
  r = Parse({"get", "--leaf_user_id", kUser});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.options.api_key.Reveal(), kEnvKey);
}

TEST_F(SecretsTest, ApiKeyPrecedence) {
  std::string file = WriteFile("api_key_precedence", kFileKey);
  setenv("AGLEADER_CLIENT_API_KEY", kEnvKey, 1);
  // The file (even from its environment twin) wins over the key variable...
  setenv("AGLEADER_CLIENT_API_KEY_FILE", file.c_str(), 1);
  ParseResult r = Parse({"get", "--leaf_user_id", kUser});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.options.api_key.Reveal(), kFileKey);
  // ...and --api_key on the command line over both.
  r = Parse({"get", "--leaf_user_id", kUser, "--api_key=" + std::string(kApiKey)});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.options.api_key.Reveal(), kApiKey);
  // Every key seen is redacted, winner or not.
  EXPECT_EQ(Redact(std::string(kFileKey) + " " + kEnvKey, r.invocation.secrets),
            "[redacted] [redacted]");
}

TEST_F(SecretsTest, ApiKeyAndApiKeyFileTogetherIsAUsageError) {
  std::string file = WriteFile("api_key_both", kFileKey);
  ParseResult r =
      Parse({"get", "--leaf_user_id", kUser, "--api_key", kApiKey, "--api_key_file", file});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
  EXPECT_THAT(r.message, HasSubstr("--api_key or --api_key_file"));
  EXPECT_THAT(r.message, Not(HasSubstr(kApiKey)));
}

TEST_F(SecretsTest, ApiKeyFileErrorsNeverShowItsContent) {
  struct Case {
    std::string contents;
    std::string expected;
  };
  for (const Case& c : std::vector<Case>{
           {"# only a comment\n\n", "holds no key"},
           {std::string(kFileKey) + "\n" + kApiKey + "\n", "second key (line 2)"},
       }) {
    std::string path = WriteFile("api_key_bad", c.contents);
    absl::StatusOr<Secret> key = ReadApiKeyFile(path);
    ASSERT_FALSE(key.ok()) << c.expected;
    std::string message(key.status().message());
    EXPECT_THAT(message, HasSubstr("--api_key_file: \"" + path + "\""));
    EXPECT_THAT(message, HasSubstr(c.expected));
    EXPECT_THAT(message, Not(HasSubstr(kFileKey)));
    EXPECT_THAT(message, Not(HasSubstr(kApiKey)));
  }
  ParseResult r =
      Parse({"get", "--leaf_user_id", kUser, "--api_key_file", TempPath("no-api-key-here")});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
  EXPECT_THAT(r.message, HasSubstr("--api_key_file: cannot open"));
}

TEST_F(SecretsTest, ApiKeyThatCannotBeSentIsAUsageErrorThatDoesNotShowIt) {
  for (const std::string& key :
       {std::string("api key with spaces 0123"), std::string("api-key-\x01-0123456")}) {
    ParseResult r = Parse({"get", "--leaf_user_id", kUser, "--api_key", key});
    EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
    EXPECT_THAT(r.message, HasSubstr("printable ASCII without spaces"));
    EXPECT_THAT(r.message, Not(HasSubstr(key)));
  }
}

}  // namespace
}  // namespace leafsvc::client
