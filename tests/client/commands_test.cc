// The command runners and the whole program, in-process against the real
// stack (Leaf emulator + service on loopback): every command, readable and
// JSON, help and usage errors, and their exit codes.
#include "client/commands.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/test_util.h"
#include "tests/integration/harness.h"

namespace leafsvc::client {
namespace {

using ::leafsvc::testing::Harness;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

class CommandsTest : public ClientTest {
 protected:
  void SetUp() override {
    ClientTest::SetUp();
    harness_ = Harness::Start();
    ASSERT_NE(harness_, nullptr);
  }

  // The client with --server set to the service.
  CliResult Client(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.insert(args.begin(), "--server=" + harness_->app().target());
    return RunCli(std::move(args), stdin_text);
  }

  std::unique_ptr<Harness> harness_;
};

TEST_F(CommandsTest, EveryCommandAgainstTheService) {
  CliResult r = Client(
      {"create", "--leaf_user_id", kUser, "--public_key", "pub-key-1", "--secrets_from_stdin"},
      std::string("refresh_token=") + kRefreshToken + "\nprivate_key=" + kPrivateKey + "\n");
  ASSERT_EQ(r.exit_code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("status:        OK (CREDENTIAL_STATUS_OK)\n"));
  EXPECT_THAT(r.out, HasSubstr("refresh token: ****cdef\n"));
  EXPECT_THAT(r.out, Not(HasSubstr(kRefreshToken)));
  EXPECT_THAT(r.out, Not(HasSubstr(kPrivateKey)));
  EXPECT_EQ(r.err, "");

  r = Client({"--json", "get", "--leaf_user_id", kUser});
  ASSERT_EQ(r.exit_code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"leafUserId\": \"" + std::string(kUser) + "\""));
  EXPECT_THAT(r.out, HasSubstr("\"refreshTokenHint\": \"****cdef\""));

  r = Client({"events", "--leaf_user_id", kUser, "--all"});
  ASSERT_EQ(r.exit_code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("status code: "));
  r = Client({"events", "--leaf_user_id", kUser, "--all", "--json"});
  ASSERT_EQ(r.exit_code, kExitOk) << r.err;
  EXPECT_THAT(r.out, StartsWith("{\n \"events\": ["));

  // The full view is refused by default: the error on stderr, exit 1.
  r = Client({"get", "--leaf_user_id", kUser, "--view", "full"});
  EXPECT_EQ(r.exit_code, kExitRpcError);
  EXPECT_THAT(r.err, StartsWith("error: PERMISSION_DENIED (7): "));
  EXPECT_EQ(r.out, "");

  r = Client({"delete", "--leaf_user_id", kUser});
  ASSERT_EQ(r.exit_code, kExitOk) << r.err;
  EXPECT_EQ(r.out, std::string("deleted AgLeader credentials of user ") + kUser + "\n");
  r = Client({"get", "--leaf_user_id", kUser});
  EXPECT_EQ(r.exit_code, kExitRpcError);
  EXPECT_THAT(r.err, StartsWith("error: NOT_FOUND (5): "));
  EXPECT_THAT(r.err, Not(HasSubstr("hint:")));
  r = Client({"delete", "--leaf_user_id", kUser, "--allow_missing"});
  EXPECT_EQ(r.exit_code, kExitOk) << r.err;
}

TEST_F(CommandsTest, HelpAndUsageErrorsNeverCallTheServer) {
  CliResult r = Client({"--help"});
  EXPECT_EQ(r.exit_code, kExitOk);
  EXPECT_THAT(r.out, StartsWith("usage: agleader_client"));
  EXPECT_EQ(r.err, "");

  r = Client({"get"});
  EXPECT_EQ(r.exit_code, kExitUsageError);
  EXPECT_THAT(r.err, StartsWith("error: missing required flag --leaf_user_id\n\n"
                                "usage: agleader_client"));
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(harness_->emulator().Requests().size(), 0u);
}

TEST_F(CommandsTest, UnreachableServerIsUnavailableWithoutATlsHint) {
  CliResult r = RunCli(
      {"--server", "127.0.0.1:1", "--service_config", "none", "get", "--leaf_user_id", kUser});
  EXPECT_EQ(r.exit_code, kExitRpcError);
  EXPECT_THAT(r.err, StartsWith("error: UNAVAILABLE (14): "));
  EXPECT_THAT(r.err, Not(HasSubstr("hint:")));
}

}  // namespace
}  // namespace leafsvc::client
