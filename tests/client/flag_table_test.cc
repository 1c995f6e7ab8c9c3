// The flag table: --help lists every flag with its environment twin, and
// files named by flags are read with errors that name the flag.
#include "client/flag_table.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/test_util.h"

namespace leafsvc::client {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class FlagTableTest : public ClientTest {};

TEST_F(FlagTableTest, Help) {
  ParseResult r = Parse({"--help"});
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kHelp);
  for (const char* word :
       {"get", "create", "delete", "events", "--server", "AGLEADER_CLIENT_TIMEOUT", "--page_size",
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

TEST_F(FlagTableTest, HelpListsTheTlsAndApiKeyFlagsWithTheirEnvironmentTwins) {
  for (auto command : {std::optional<Command>(), std::optional<Command>(Command::kGet)}) {
    std::string usage = Usage(command);
    for (const char* word :
         {"--tls ", "AGLEADER_CLIENT_TLS,", "--ca_file", "AGLEADER_CLIENT_TLS_CA_FILE",
          "--cert_file", "AGLEADER_CLIENT_CERT_FILE", "--key_file", "AGLEADER_CLIENT_KEY_FILE",
          "--server_name", "AGLEADER_CLIENT_SERVER_NAME", "--api_key ", "AGLEADER_CLIENT_API_KEY,",
          "--api_key_file", "AGLEADER_CLIENT_API_KEY_FILE"}) {
      EXPECT_THAT(usage, HasSubstr(word));
    }
    // The server's --client_ca_file twin is not the client's CA file.
    EXPECT_THAT(usage, Not(HasSubstr("AGLEADER_CLIENT_CA_FILE")));
  }
}

TEST_F(FlagTableTest, CaFileIsReadFromItsOwnEnvironmentTwin) {
  FlagSet flags = MakeFlagSet(kGetMask);
  EXPECT_EQ(flags.EnvName("ca_file"), "AGLEADER_CLIENT_TLS_CA_FILE");
  EXPECT_EQ(flags.EnvName("cert_file"), "AGLEADER_CLIENT_CERT_FILE");
  setenv("AGLEADER_CLIENT_CA_FILE", "/server/clients-ca.pem", 1);
  setenv("AGLEADER_CLIENT_TLS_CA_FILE", "/client/ca.pem", 1);
  std::string arg0 = "agleader_client";
  char* argv[] = {arg0.data(), nullptr};
  ASSERT_TRUE(flags.Parse(1, argv).ok());
  EXPECT_EQ(flags.GetString("ca_file"), "/client/ca.pem");
}

TEST_F(FlagTableTest, EveryCommandHasAName) {
  for (Command c : {Command::kGet, Command::kCreate, Command::kDelete, Command::kEvents}) {
    const CommandSpec* spec = FindCommand(CommandName(c));
    ASSERT_NE(spec, nullptr);
    EXPECT_EQ(spec->command, c);
  }
  EXPECT_EQ(FindCommand("frobnicate"), nullptr);
  EXPECT_EQ(FindFlag("nope"), nullptr);
  EXPECT_TRUE(FindFlag("api_key")->secret);
}

TEST_F(FlagTableTest, ReadFlagFileNamesTheFlagAndPath) {
  EXPECT_EQ(*ReadFlagFile("x", WriteFile("flag_file", "a\nb")), "a\nb");
  absl::StatusOr<std::string> missing = ReadFlagFile("ca_file", TempPath("no-such-file"));
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("--ca_file: cannot open \"" + TempPath("no-such-file")));
}

}  // namespace
}  // namespace leafsvc::client
