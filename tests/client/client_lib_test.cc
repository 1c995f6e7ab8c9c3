#include "client/client_lib.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <grpc/grpc.h>
#include <grpcpp/grpcpp.h>

#include "google/protobuf/empty.pb.h"
#include "google/protobuf/util/time_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gmock/gmock.h"
#include <set>

#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "leaf/agleader/v1/agleader_credentials.pb.h"

namespace leafsvc::client {
namespace {

using ::leaf::agleader::v1::CREDENTIALS_VIEW_BASIC;
using ::leaf::agleader::v1::CREDENTIALS_VIEW_FULL;
using ::leaf::agleader::v1::CredentialEvent;
using ::leaf::agleader::v1::Credentials;
using ::leaf::agleader::v1::ListCredentialEventsResponse;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kUser[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
constexpr char kRefreshToken[] = "refresh-SECRET-0123456789abcdef";
constexpr char kPrivateKey[] = "private-SECRET-MIIEvQIBADANBgkqhkiG9w0BAQEFAA";
constexpr char kAccessToken[] = "access-SECRET-eyJhbGciOiJIUzI1NiJ9";

const char* const kEnvVars[] = {
    "AGLEADER_CLIENT_SERVER",        "AGLEADER_CLIENT_TIMEOUT",
    "AGLEADER_CLIENT_JSON",          "AGLEADER_CLIENT_SERVICE_CONFIG",
    "AGLEADER_CLIENT_LEAF_USER_ID",  "AGLEADER_CLIENT_VIEW",
    "AGLEADER_CLIENT_PUBLIC_KEY",    "AGLEADER_CLIENT_REFRESH_TOKEN",
    "AGLEADER_CLIENT_PRIVATE_KEY",   "AGLEADER_CLIENT_PRIVATE_KEY_FILE",
    "AGLEADER_CLIENT_ACCESS_TOKEN",  "AGLEADER_CLIENT_SECRETS_FROM_STDIN",
    "AGLEADER_CLIENT_ALLOW_MISSING", "AGLEADER_CLIENT_PAGE_SIZE",
    "AGLEADER_CLIENT_PAGE_TOKEN",    "AGLEADER_CLIENT_ALL",
};

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

std::string WriteFile(const std::string& name, const std::string& contents) {
  std::string path = TempPath(name);
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

class ClientLibTest : public ::testing::Test {
 protected:
  void SetUp() override { ClearEnv(); }
  void TearDown() override { ClearEnv(); }
  static void ClearEnv() {
    for (const char* name : kEnvVars) unsetenv(name);
  }

  ParseResult Parse(std::vector<std::string> args,
                    const std::string& stdin_text = "") {
    args.insert(args.begin(), "agleader_client");
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::istringstream in(stdin_text);
    ParseResult result =
        ParseCommandLine(static_cast<int>(args.size()), argv.data(), in);
    return result;
  }
};

// ---------------------------------------------------------------------------
// Argument parsing

TEST_F(ClientLibTest, GetWithDefaults) {
  ParseResult r = Parse({"get", "--leaf_user_id", kUser});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  const Invocation& inv = r.invocation;
  EXPECT_EQ(inv.command, Command::kGet);
  EXPECT_EQ(inv.get_request.leaf_user_id(), kUser);
  EXPECT_EQ(inv.get_request.view(), CREDENTIALS_VIEW_BASIC);
  EXPECT_EQ(inv.options.server, "127.0.0.1:50051");
  EXPECT_EQ(inv.options.timeout, absl::Seconds(10));
  EXPECT_FALSE(inv.options.json);
  // The shipped retry policy is on by default.
  EXPECT_NE(inv.options.service_config_json.find("retryPolicy"), std::string::npos);
}

TEST_F(ClientLibTest, DefaultServiceConfigRetriesReadsAndDeletesButNeverCreates) {
  ParseResult r = Parse({"get", "--leaf_user_id", kUser});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  rapidjson::Document doc;
  doc.Parse(r.invocation.options.service_config_json.c_str());
  ASSERT_TRUE(doc.IsObject());
  std::set<std::string> retried, not_retried;
  for (const auto& config : doc["methodConfig"].GetArray()) {
    for (const auto& name : config["name"].GetArray()) {
      (config.HasMember("retryPolicy") ? retried : not_retried)
          .insert(name["method"].GetString());
    }
    if (config.HasMember("retryPolicy")) {
      const auto& codes = config["retryPolicy"]["retryableStatusCodes"];
      ASSERT_EQ(codes.Size(), 1u);
      EXPECT_STREQ(codes[0].GetString(), "UNAVAILABLE");
    }
  }
  EXPECT_EQ(retried, (std::set<std::string>{"GetCredentials", "ListCredentialEvents",
                                             "DeleteCredentials"}));
  EXPECT_EQ(not_retried, std::set<std::string>{"CreateCredentials"});
}

TEST_F(ClientLibTest, ServiceConfigNoneTurnsItOff) {
  ParseResult r = Parse({"get", "--leaf_user_id", kUser, "--service_config", "none"});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_TRUE(r.invocation.options.service_config_json.empty());
}

TEST_F(ClientLibTest, GlobalFlagsBeforeOrAfterTheCommand) {
  ParseResult r = Parse({"--server", "localhost:9", "--json", "get",
                         "--timeout=250ms", "--leaf_user_id=" + std::string(kUser),
                         "--view", "FULL"});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.options.server, "localhost:9");
  EXPECT_TRUE(r.invocation.options.json);
  EXPECT_EQ(r.invocation.options.timeout, absl::Milliseconds(250));
  EXPECT_EQ(r.invocation.get_request.view(), CREDENTIALS_VIEW_FULL);
}

TEST_F(ClientLibTest, EnvironmentTwinsAndCommandLineWins) {
  setenv("AGLEADER_CLIENT_SERVER", "env-host:1", 1);
  setenv("AGLEADER_CLIENT_TIMEOUT", "3s", 1);
  ParseResult r = Parse({"get", "--leaf_user_id", kUser, "--timeout", "1s"});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.options.server, "env-host:1");
  EXPECT_EQ(r.invocation.options.timeout, absl::Seconds(1));
}

TEST_F(ClientLibTest, Delete) {
  ParseResult r = Parse({"delete", "--leaf_user_id", kUser, "--allow_missing"});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.command, Command::kDelete);
  EXPECT_EQ(r.invocation.delete_request.leaf_user_id(), kUser);
  EXPECT_TRUE(r.invocation.delete_request.allow_missing());

  r = Parse({"delete", "--leaf_user_id", kUser});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_FALSE(r.invocation.delete_request.allow_missing());
}

TEST_F(ClientLibTest, Events) {
  ParseResult r = Parse({"events", "--leaf_user_id", kUser, "--page_size", "7",
                         "--page_token=abc", "--all"});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.command, Command::kEvents);
  EXPECT_EQ(r.invocation.events_request.leaf_user_id(), kUser);
  EXPECT_EQ(r.invocation.events_request.page_size(), 7);
  EXPECT_EQ(r.invocation.events_request.page_token(), "abc");
  EXPECT_TRUE(r.invocation.all_pages);

  r = Parse({"events", "--leaf_user_id", kUser});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.events_request.page_size(), 0);
  EXPECT_FALSE(r.invocation.all_pages);

  EXPECT_EQ(Parse({"events", "--leaf_user_id", kUser, "--page_size",
                   "99999999999"})
                .outcome,
            ParseResult::Outcome::kUsageError);
  EXPECT_EQ(Parse({"events", "--leaf_user_id", kUser, "--page_size", "x"})
                .outcome,
            ParseResult::Outcome::kUsageError);
}

TEST_F(ClientLibTest, MissingLeafUserIdIsAUsageError) {
  for (const char* command : {"get", "create", "delete", "events"}) {
    ParseResult r = Parse({command, "--public_key", "pk"});
    if (std::string(command) != "create") r = Parse({command});
    EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError) << command;
    EXPECT_THAT(r.message, HasSubstr("--leaf_user_id")) << command;
    EXPECT_THAT(r.usage, HasSubstr("usage: agleader_client")) << command;
    EXPECT_THAT(r.usage, HasSubstr("--leaf_user_id")) << command;
  }
}

TEST_F(ClientLibTest, CreateNeedsPublicKey) {
  ParseResult r = Parse({"create", "--leaf_user_id", kUser});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
  EXPECT_THAT(r.message, HasSubstr("--public_key"));
}

TEST_F(ClientLibTest, UnknownOrMissingCommand) {
  ParseResult r = Parse({"frobnicate", "--leaf_user_id", kUser});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
  EXPECT_THAT(r.message, HasSubstr("unknown command"));
  for (const char* command : {"get", "create", "delete", "events"}) {
    EXPECT_THAT(r.usage, HasSubstr(command));
  }

  r = Parse({});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
  EXPECT_THAT(r.message, HasSubstr("no command"));

  // A flag's value is not taken for the command.
  r = Parse({"--server", "get"});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
  EXPECT_THAT(r.message, HasSubstr("no command"));
}

TEST_F(ClientLibTest, FlagsOfAnotherCommandAreRejected) {
  ParseResult r = Parse({"get", "--leaf_user_id", kUser, "--allow_missing"});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
  EXPECT_THAT(r.message, HasSubstr("allow_missing"));
  r = Parse({"get", "--leaf_user_id", kUser, "--no_such_flag=1"});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
}

TEST_F(ClientLibTest, BadValues) {
  EXPECT_EQ(Parse({"get", "--leaf_user_id", kUser, "--view", "partial"}).outcome,
            ParseResult::Outcome::kUsageError);
  EXPECT_EQ(Parse({"get", "--leaf_user_id", kUser, "--timeout", "soon"}).outcome,
            ParseResult::Outcome::kUsageError);
  EXPECT_EQ(Parse({"get", "--leaf_user_id"}).outcome,
            ParseResult::Outcome::kUsageError);
}

TEST_F(ClientLibTest, Help) {
  ParseResult r = Parse({"--help"});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kHelp);
  for (const char* word : {"get", "create", "delete", "events", "--server",
                           "AGLEADER_CLIENT_TIMEOUT", "--page_size",
                           "--secrets_from_stdin", "--private_key_file"}) {
    EXPECT_THAT(r.usage, HasSubstr(word));
  }
  r = Parse({"create", "-h"});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kHelp);
  EXPECT_THAT(r.usage, HasSubstr("--public_key"));
  EXPECT_THAT(r.usage, Not(HasSubstr("--page_size")));
  // --help wins over what would otherwise be a usage error.
  EXPECT_EQ(Parse({"get", "--help"}).outcome, ParseResult::Outcome::kHelp);
}

TEST_F(ClientLibTest, StrayArgumentIsNotEchoed) {
  ParseResult r = Parse({"create", "--leaf_user_id", kUser, "--public_key",
                         "pk", "--secrets_from_stdin", kRefreshToken});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
  EXPECT_THAT(r.message, Not(HasSubstr(kRefreshToken)));
  EXPECT_THAT(r.usage, Not(HasSubstr(kRefreshToken)));
}

// ---------------------------------------------------------------------------
// Secrets

TEST_F(ClientLibTest, CreateWithSecretFlags) {
  ParseResult r = Parse({"create", "--leaf_user_id", kUser, "--public_key",
                         "pk", "--refresh_token", kRefreshToken,
                         "--private_key", kPrivateKey, "--access_token",
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

TEST_F(ClientLibTest, SecretsFromEnvironment) {
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

TEST_F(ClientLibTest, SecretsFromStdin) {
  std::string in = std::string("# secrets\n\nrefresh_token=") + kRefreshToken +
                   "\r\nprivate_key=" + kPrivateKey + "\naccess_token=a=b=c\n";
  ParseResult r = Parse({"create", "--leaf_user_id", kUser, "--public_key",
                         "pk", "--secrets_from_stdin"},
                        in);
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  const auto& req = r.invocation.create_request;
  EXPECT_EQ(req.refresh_token(), kRefreshToken);
  EXPECT_EQ(req.private_key(), kPrivateKey);
  EXPECT_EQ(req.access_token(), "a=b=c");
}

TEST_F(ClientLibTest, StdinIsIgnoredWithoutTheFlag) {
  ParseResult r = Parse({"create", "--leaf_user_id", kUser, "--public_key", "pk"},
                        std::string("refresh_token=") + kRefreshToken + "\n");
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.create_request.refresh_token(), "");
}

TEST_F(ClientLibTest, SecretPrecedence) {
  // Private key from all four sources: the command line wins, then stdin,
  // then the file, then the environment.
  std::string file = WriteFile("key_precedence", "from-file-key\n");
  setenv("AGLEADER_CLIENT_PRIVATE_KEY", "from-env-key", 1);
  setenv("AGLEADER_CLIENT_REFRESH_TOKEN", "from-env-refresh", 1);
  setenv("AGLEADER_CLIENT_ACCESS_TOKEN", "from-env-access", 1);
  std::vector<std::string> base = {"create", "--leaf_user_id", kUser,
                                   "--public_key", "pk"};

  auto args = base;
  args.insert(args.end(), {"--private_key=from-flag-key",
                           "--secrets_from_stdin", "--refresh_token",
                           "from-flag-refresh"});
  ParseResult r = Parse(args,
                        "private_key=from-stdin-key\n"
                        "refresh_token=from-stdin-refresh\n");
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.create_request.private_key(), "from-flag-key");
  EXPECT_EQ(r.invocation.create_request.refresh_token(), "from-flag-refresh");
  EXPECT_EQ(r.invocation.create_request.access_token(), "from-env-access");
  // Every value seen is redacted, winner or not.
  EXPECT_EQ(Redact("from-env-key from-stdin-key", r.invocation.secrets),
            "[redacted] [redacted]");

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

TEST_F(ClientLibTest, PrivateKeyAndKeyFileTogetherIsAUsageError) {
  std::string file = WriteFile("key_both", "k\n");
  ParseResult r = Parse({"create", "--leaf_user_id", kUser, "--public_key",
                         "pk", "--private_key", kPrivateKey,
                         "--private_key_file", file});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
  EXPECT_THAT(r.message, Not(HasSubstr(kPrivateKey)));
}

TEST_F(ClientLibTest, ReadPrivateKeyFileStripsOneTrailingNewline) {
  EXPECT_EQ(*ReadPrivateKeyFile(WriteFile("k1", "abc\n")), "abc");
  EXPECT_EQ(*ReadPrivateKeyFile(WriteFile("k2", "abc\r\n")), "abc");
  EXPECT_EQ(*ReadPrivateKeyFile(WriteFile("k3", "abc\n\n")), "abc\n");
  EXPECT_EQ(*ReadPrivateKeyFile(WriteFile("k4", "abc")), "abc");
  EXPECT_FALSE(ReadPrivateKeyFile(TempPath("does-not-exist")).ok());

  ParseResult r = Parse({"create", "--leaf_user_id", kUser, "--public_key",
                         "pk", "--private_key_file", TempPath("nope")});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
  EXPECT_THAT(r.message, HasSubstr("--private_key_file"));
}

TEST_F(ClientLibTest, ReadSecretsErrorsNeverShowTheLine) {
  struct Case {
    std::string input;
    std::string expected;
  };
  for (const Case& c : std::vector<Case>{
           {std::string(kRefreshToken) + "\n", "line 1"},
           {std::string("\nbogus_") + kRefreshToken + "=x\n", "line 2"},
           {std::string("refresh_token=") + kRefreshToken +
                "\nrefresh_token=" + kRefreshToken + "\n",
            "twice"},
       }) {
    std::istringstream in(c.input);
    absl::StatusOr<StdinSecrets> secrets = ReadSecrets(in);
    ASSERT_FALSE(secrets.ok()) << c.expected;
    EXPECT_THAT(std::string(secrets.status().message()), HasSubstr(c.expected));
    EXPECT_THAT(std::string(secrets.status().message()),
                Not(HasSubstr(kRefreshToken)));

    ParseResult r = Parse({"create", "--leaf_user_id", kUser, "--public_key",
                           "pk", "--secrets_from_stdin"},
                          c.input);
    EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
    EXPECT_THAT(r.message, Not(HasSubstr(kRefreshToken)));
  }
}

TEST_F(ClientLibTest, ReadSecretsEmptyInput) {
  std::istringstream in("");
  absl::StatusOr<StdinSecrets> secrets = ReadSecrets(in);
  ASSERT_TRUE(secrets.ok());
  EXPECT_FALSE(secrets->refresh_token.has_value());
  EXPECT_FALSE(secrets->private_key.has_value());
  EXPECT_FALSE(secrets->access_token.has_value());
}

// ---------------------------------------------------------------------------
// Channel options

TEST_F(ClientLibTest, ServiceConfig) {
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
  r = Parse({"get", "--leaf_user_id", kUser, "--service_config",
             TempPath("missing.json")});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
}

TEST_F(ClientLibTest, TimeoutSetsTheDeadline) {
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

// ---------------------------------------------------------------------------
// Output

Credentials SampleCredentials(bool with_secrets) {
  Credentials c;
  c.set_name(std::string("users/") + kUser + "/agLeaderCredentials");
  c.set_id("0b8f2c5e-1111-2222-3333-444455556666");
  c.set_leaf_user_id(kUser);
  c.set_status(leaf::agleader::v1::CREDENTIAL_STATUS_OK);
  c.set_leaf_status("OK");
  google::protobuf::util::TimeUtil::FromString("2023-04-21T12:16:27.997586Z",
                                               c.mutable_create_time());
  c.set_public_key("public-key-value");
  c.set_refresh_token_hint("****cdef");
  c.set_private_key_hint("****AEFAA");
  c.set_access_token_hint("");
  if (with_secrets) {
    c.set_refresh_token(kRefreshToken);
    c.set_private_key(kPrivateKey);
    c.set_access_token(kAccessToken);
  }
  return c;
}

TEST_F(ClientLibTest, FormatCredentialsBasic) {
  std::string out = FormatCredentials(SampleCredentials(false),
                                      CREDENTIALS_VIEW_BASIC);
  EXPECT_EQ(out,
            "name:          users/3fa85f64-5717-4562-b3fc-2c963f66afa6/"
            "agLeaderCredentials\n"
            "id:            0b8f2c5e-1111-2222-3333-444455556666\n"
            "leaf user id:  3fa85f64-5717-4562-b3fc-2c963f66afa6\n"
            "status:        OK (CREDENTIAL_STATUS_OK)\n"
            "created:       2023-04-21T12:16:27.997586Z\n"
            "public key:    public-key-value\n"
            "refresh token: ****cdef\n"
            "private key:   ****AEFAA\n"
            "access token:  (none)\n");
}

TEST_F(ClientLibTest, FormatCredentialsBasicNeverShowsSecretValues) {
  // Even if a server put them in a basic-view response.
  std::string out = FormatCredentials(SampleCredentials(true),
                                      CREDENTIALS_VIEW_BASIC);
  EXPECT_THAT(out, HasSubstr("refresh token: ****cdef"));
  EXPECT_THAT(out, Not(HasSubstr("SECRET")));
  out = FormatCredentials(SampleCredentials(true),
                          leaf::agleader::v1::CREDENTIALS_VIEW_UNSPECIFIED);
  EXPECT_THAT(out, Not(HasSubstr("SECRET")));
}

TEST_F(ClientLibTest, FormatCredentialsFullShowsSecretValues) {
  std::string out = FormatCredentials(SampleCredentials(true),
                                      CREDENTIALS_VIEW_FULL);
  EXPECT_THAT(out, HasSubstr("refresh token: ****cdef\n"));
  EXPECT_THAT(out, HasSubstr(kRefreshToken));
  EXPECT_THAT(out, HasSubstr(kPrivateKey));
  EXPECT_THAT(out, HasSubstr(kAccessToken));
}

TEST_F(ClientLibTest, FormatCredentialsUnknownStatus) {
  Credentials c;
  c.set_leaf_status("SOMETHING_NEW");
  std::string out = FormatCredentials(c, CREDENTIALS_VIEW_BASIC);
  EXPECT_THAT(out, HasSubstr(
                       "status:        SOMETHING_NEW "
                       "(CREDENTIAL_STATUS_UNSPECIFIED)\n"));
  EXPECT_THAT(out, HasSubstr("created:       (unknown)\n"));
}

TEST_F(ClientLibTest, FormatEvents) {
  ListCredentialEventsResponse response;
  CredentialEvent* e = response.add_events();
  e->set_id("ev1");
  e->set_status_code(401);
  google::protobuf::util::TimeUtil::FromString("2023-04-21T12:16:27Z",
                                               e->mutable_create_time());
  e->set_headers("Content-Type: application/json\r\nX-A: b");
  e->set_body("{\"error\":\"invalid_grant\"}\x1b[31m");
  CredentialEvent* e2 = response.add_events();
  e2->set_id("ev2");
  e2->set_status_code(200);
  response.set_next_page_token("tok123");
  EXPECT_EQ(FormatEvents(response),
            "time:        2023-04-21T12:16:27Z\n"
            "status code: 401\n"
            "id:          ev1\n"
            "headers:\n"
            "    Content-Type: application/json\n"
            "    X-A: b\n"
            "body:\n"
            "    {\"error\":\"invalid_grant\"}\\x1b[31m\n"
            "\n"
            "time:        (unknown)\n"
            "status code: 200\n"
            "id:          ev2\n"
            "headers:     (none)\n"
            "body:        (none)\n"
            "\n"
            "next page token: tok123\n");

  EXPECT_EQ(FormatEvents(ListCredentialEventsResponse()), "no events\n");
}

TEST_F(ClientLibTest, FormatDeleted) {
  EXPECT_EQ(FormatDeleted(kUser),
            "deleted AgLeader credentials of user "
            "3fa85f64-5717-4562-b3fc-2c963f66afa6\n");
}

TEST_F(ClientLibTest, FormatJsonUsesLowerCamelCase) {
  absl::StatusOr<std::string> json =
      FormatJson(SampleCredentials(false));
  ASSERT_TRUE(json.ok());
  EXPECT_THAT(*json, HasSubstr("\"leafUserId\""));
  EXPECT_THAT(*json, HasSubstr("\"refreshTokenHint\""));
  EXPECT_THAT(*json, HasSubstr("\"status\": \"CREDENTIAL_STATUS_OK\""));
  EXPECT_THAT(*json, HasSubstr("\"createTime\": \"2023-04-21T12:16:27.997586Z\""));
  EXPECT_THAT(*json, Not(HasSubstr("leaf_user_id")));
  EXPECT_EQ(json->back(), '\n');

  EXPECT_EQ(*FormatJson(google::protobuf::Empty()), "{}\n");
}

// ---------------------------------------------------------------------------
// Errors

grpc::Status StatusWithDetails(grpc::StatusCode code, const std::string& message,
                               bool bad_request, bool retry) {
  google::rpc::Status proto;
  proto.set_code(static_cast<int>(code));
  proto.set_message(message);
  google::rpc::ErrorInfo info;
  info.set_reason("LEAF_RATE_LIMITED");
  info.set_domain("leaf.agleader.v1");
  (*info.mutable_metadata())["leaf_message"] = "Too many requests";
  (*info.mutable_metadata())["leaf_http_status"] = "429";
  (*info.mutable_metadata())["attempt"] = "2";
  proto.add_details()->PackFrom(info);
  if (bad_request) {
    google::rpc::BadRequest br;
    auto* v = br.add_field_violations();
    v->set_field("leaf_user_id");
    v->set_description("must be a UUID");
    v = br.add_field_violations();
    v->set_field("refresh_token");
    v->set_description("must not be empty");
    proto.add_details()->PackFrom(br);
  }
  if (retry) {
    google::rpc::RetryInfo ri;
    ri.mutable_retry_delay()->set_seconds(3);
    proto.add_details()->PackFrom(ri);
  }
  return grpc::Status(code, message, proto.SerializeAsString());
}

TEST_F(ClientLibTest, FormatErrorWithAllDetails) {
  grpc::Status status = StatusWithDetails(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                          "Leaf is rate limiting", true, true);
  EXPECT_EQ(FormatError(status),
            "error: RESOURCE_EXHAUSTED (8): Leaf is rate limiting\n"
            "reason: LEAF_RATE_LIMITED\n"
            "metadata: attempt=2, leaf_http_status=429, "
            "leaf_message=Too many requests\n"
            "  field leaf_user_id: must be a UUID\n"
            "  field refresh_token: must not be empty\n"
            "retry after: 3s\n");
}

TEST_F(ClientLibTest, FormatErrorWithoutDetails) {
  EXPECT_EQ(FormatError(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")),
            "error: UNAVAILABLE (14): down\n");
  EXPECT_EQ(FormatError(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "")),
            "error: DEADLINE_EXCEEDED (4): (no message)\n");
  EXPECT_EQ(FormatError(grpc::Status(grpc::StatusCode::INTERNAL, "x", "\xff\xff")),
            "error: INTERNAL (13): x\ndetails: (unreadable)\n");
}

TEST_F(ClientLibTest, FormatErrorFractionalRetryDelay) {
  google::rpc::Status proto;
  google::rpc::RetryInfo ri;
  ri.mutable_retry_delay()->set_seconds(1);
  ri.mutable_retry_delay()->set_nanos(500000000);
  proto.add_details()->PackFrom(ri);
  grpc::Status status(grpc::StatusCode::UNAVAILABLE, "busy",
                      proto.SerializeAsString());
  EXPECT_THAT(FormatError(status), HasSubstr("retry after: 1.5s\n"));
}

TEST_F(ClientLibTest, StatusCodeNames) {
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::NOT_FOUND), "NOT_FOUND");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::PERMISSION_DENIED),
            "PERMISSION_DENIED");
}

// ---------------------------------------------------------------------------
// Secrets never leak

TEST_F(ClientLibTest, Redact) {
  EXPECT_EQ(Redact("a secret-value b secret-value", {"secret-value"}),
            "a [redacted] b [redacted]");
  // Too short to redact safely.
  EXPECT_EQ(Redact("OK true", {"OK", "true"}), "OK true");
  // A secret containing another is removed whole.
  EXPECT_EQ(Redact("x abcdefghij y", {"cdefgh", "abcdefghij"}),
            "x [redacted] y");
}

TEST_F(ClientLibTest, SecretsOnInputNeverAppearInOutput) {
  setenv("AGLEADER_CLIENT_ACCESS_TOKEN", kAccessToken, 1);
  ParseResult r = Parse({"create", "--leaf_user_id", kUser, "--public_key",
                         "pk", "--refresh_token", kRefreshToken,
                         "--secrets_from_stdin"},
                        std::string("private_key=") + kPrivateKey + "\n");
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  const Invocation& inv = r.invocation;

  std::vector<std::string> outputs;
  // A server that echoes the secrets in its error.
  grpc::Status echo = StatusWithDetails(
      grpc::StatusCode::INVALID_ARGUMENT,
      std::string("bad token ") + kRefreshToken + " / " + kPrivateKey + " / " +
          kAccessToken,
      true, false);
  outputs.push_back(Redact(FormatError(echo), inv.secrets));
  // A basic-view response (and its JSON) that wrongly carries them.
  Credentials leaky = SampleCredentials(true);
  outputs.push_back(
      Redact(FormatCredentials(leaky, CREDENTIALS_VIEW_BASIC), inv.secrets));
  Credentials basic = SampleCredentials(false);
  outputs.push_back(FormatCredentials(basic, CREDENTIALS_VIEW_BASIC));
  outputs.push_back(Redact(*FormatJson(leaky), inv.secrets));
  outputs.push_back(*FormatJson(basic));
  outputs.push_back(Usage(Command::kCreate));
  outputs.push_back(Usage(std::nullopt));

  // Usage errors after the secrets were given.
  for (auto args : std::vector<std::vector<std::string>>{
           {"create", "--leaf_user_id", kUser, "--refresh_token",
            kRefreshToken},
           {"create", "--leaf_user_id", kUser, "--public_key", "pk",
            "--private_key", kPrivateKey, "--view", "bogus"},
           {"create", "--refresh_token=" + std::string(kRefreshToken),
            "--bad_flag"},
       }) {
    ParseResult bad = Parse(args);
    EXPECT_EQ(bad.outcome, ParseResult::Outcome::kUsageError);
    outputs.push_back(bad.message);
    outputs.push_back(bad.usage);
  }

  for (const std::string& out : outputs) {
    for (const char* secret : {kRefreshToken, kPrivateKey, kAccessToken}) {
      EXPECT_THAT(out, Not(HasSubstr(secret)));
    }
  }
}

}  // namespace
}  // namespace leafsvc::client
