// Parsing the command line: commands, flags before or after them, their
// environment twins, required flags and usage errors.
#include "client/command_line.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/test_util.h"

namespace leafsvc::client {
namespace {

using ::leaf::agleader::v1::CREDENTIALS_VIEW_BASIC;
using ::leaf::agleader::v1::CREDENTIALS_VIEW_FULL;
using ::testing::HasSubstr;
using ::testing::Not;

class CommandLineTest : public ClientTest {};

TEST_F(CommandLineTest, GetWithDefaults) {
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

TEST_F(CommandLineTest, GlobalFlagsBeforeOrAfterTheCommand) {
  ParseResult r = Parse({"--server", "localhost:9", "--json", "get", "--timeout=250ms",
                         "--leaf_user_id=" + std::string(kUser), "--view", "FULL"});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.options.server, "localhost:9");
  EXPECT_TRUE(r.invocation.options.json);
  EXPECT_EQ(r.invocation.options.timeout, absl::Milliseconds(250));
  EXPECT_EQ(r.invocation.get_request.view(), CREDENTIALS_VIEW_FULL);
}

TEST_F(CommandLineTest, EnvironmentTwinsAndCommandLineWins) {
  setenv("AGLEADER_CLIENT_SERVER", "env-host:1", 1);
  setenv("AGLEADER_CLIENT_TIMEOUT", "3s", 1);
  ParseResult r = Parse({"get", "--leaf_user_id", kUser, "--timeout", "1s"});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.options.server, "env-host:1");
  EXPECT_EQ(r.invocation.options.timeout, absl::Seconds(1));
}

TEST_F(CommandLineTest, Delete) {
  ParseResult r = Parse({"delete", "--leaf_user_id", kUser, "--allow_missing"});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_EQ(r.invocation.command, Command::kDelete);
  EXPECT_EQ(r.invocation.delete_request.leaf_user_id(), kUser);
  EXPECT_TRUE(r.invocation.delete_request.allow_missing());

  r = Parse({"delete", "--leaf_user_id", kUser});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_FALSE(r.invocation.delete_request.allow_missing());
}

TEST_F(CommandLineTest, Events) {
  ParseResult r =
      Parse({"events", "--leaf_user_id", kUser, "--page_size", "7", "--page_token=abc", "--all"});
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

  EXPECT_EQ(Parse({"events", "--leaf_user_id", kUser, "--page_size", "99999999999"}).outcome,
            ParseResult::Outcome::kUsageError);
  EXPECT_EQ(Parse({"events", "--leaf_user_id", kUser, "--page_size", "x"}).outcome,
            ParseResult::Outcome::kUsageError);
}

TEST_F(CommandLineTest, MissingLeafUserIdIsAUsageError) {
  for (const char* command : {"get", "create", "delete", "events"}) {
    ParseResult r = Parse({command, "--public_key", "pk"});
    if (std::string(command) != "create") r = Parse({command});
    EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError) << command;
    EXPECT_THAT(r.message, HasSubstr("--leaf_user_id")) << command;
    EXPECT_THAT(r.usage, HasSubstr("usage: agleader_client")) << command;
    EXPECT_THAT(r.usage, HasSubstr("--leaf_user_id")) << command;
  }
}

TEST_F(CommandLineTest, CreateNeedsPublicKey) {
  ParseResult r = Parse({"create", "--leaf_user_id", kUser});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
  EXPECT_THAT(r.message, HasSubstr("--public_key"));
}

TEST_F(CommandLineTest, UnknownOrMissingCommand) {
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

TEST_F(CommandLineTest, FlagsOfAnotherCommandAreRejected) {
  ParseResult r = Parse({"get", "--leaf_user_id", kUser, "--allow_missing"});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
  EXPECT_THAT(r.message, HasSubstr("allow_missing"));
  r = Parse({"get", "--leaf_user_id", kUser, "--no_such_flag=1"});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
}

TEST_F(CommandLineTest, BadValues) {
  EXPECT_EQ(Parse({"get", "--leaf_user_id", kUser, "--view", "partial"}).outcome,
            ParseResult::Outcome::kUsageError);
  EXPECT_EQ(Parse({"get", "--leaf_user_id", kUser, "--timeout", "soon"}).outcome,
            ParseResult::Outcome::kUsageError);
  EXPECT_EQ(Parse({"get", "--leaf_user_id"}).outcome, ParseResult::Outcome::kUsageError);
}

TEST_F(CommandLineTest, StrayArgumentIsNotEchoed) {
  ParseResult r = Parse({"create", "--leaf_user_id", kUser, "--public_key", "pk",
                         "--secrets_from_stdin", kRefreshToken});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError);
  EXPECT_THAT(r.message, Not(HasSubstr(kRefreshToken)));
  EXPECT_THAT(r.usage, Not(HasSubstr(kRefreshToken)));
}

TEST_F(CommandLineTest, NoTlsAndNoApiKeyByDefault) {
  ParseResult r = Parse({"get", "--leaf_user_id", kUser});
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  EXPECT_FALSE(r.invocation.options.tls.enabled);
  EXPECT_TRUE(r.invocation.options.api_key.empty());
  EXPECT_TRUE(r.invocation.secrets.empty());
}

TEST_F(CommandLineTest, TlsAndApiKeyFlagsAreGlobal) {
  for (const char* command : {"get", "create", "delete", "events"}) {
    ParseResult r = Parse(
        {"--tls", command, "--leaf_user_id", kUser, "--public_key", "pk", "--api_key", kApiKey});
    if (std::string(command) != "create") {
      r = Parse({"--tls", command, "--leaf_user_id", kUser, "--api_key", kApiKey});
    }
    ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << command << r.message;
    EXPECT_TRUE(r.invocation.options.tls.enabled) << command;
    EXPECT_EQ(r.invocation.options.api_key.Reveal(), kApiKey) << command;
  }
}

}  // namespace
}  // namespace leafsvc::client
