// The agleader_client binary (client/agleader_client.cc): main() only wires
// RunCommandLine (tested in commands_test and command_line_test) to the real
// stdin, stdout, stderr and exit status. Run as a process, this checks that
// wiring: --help on stdout with 0, usage errors on stderr with 2, a failed
// call with 1, --secrets_from_stdin reading the real stdin, and no secret in
// anything the process prints.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/process/subprocess.h"

extern "C" char** environ;

namespace leafsvc::client {
namespace {

constexpr char kUser[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
constexpr char kApiKey[] = "api-key-never-printed-5b9d01";
constexpr char kRefreshToken[] = "refresh-token-never-printed-e4a7";

std::string Binary() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* ws = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr || ws == nullptr) return "client/agleader_client";
  return absl::StrCat(srcdir, "/", ws, "/client/agleader_client");
}

struct Result {
  int exit_code = -1;  // -1: killed after the timeout
  std::string out;
  std::string err;
  std::string both() const { return out + err; }
};

// Runs the client with `args` and `stdin_data`, without AGLEADER_* in its
// environment; waits at most 60 s.
Result RunClient(const std::vector<std::string>& args, const std::string& stdin_data = "") {
  std::vector<std::string> argv = {Binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  testing::CommandOptions options;
  options.drop_env_prefix = "AGLEADER_";
  options.stdin_data = stdin_data;
  options.timeout = absl::Seconds(60);
  testing::CommandResult r = testing::RunCommandWith(argv, options);
  return Result{r.exit_code, std::move(r.out), std::move(r.err)};
}

// An address where nothing listens.
std::string ClosedAddress() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), len);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));
}

TEST(AgLeaderClientTest, HelpGoesToStdoutAndExitsZero) {
  Result r = RunClient({"--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  for (const char* command : {"get", "create", "delete", "events", "audit", "watch"}) {
    EXPECT_TRUE(absl::StrContains(r.out, command)) << command << "\n" << r.out;
  }
  EXPECT_TRUE(absl::StrContains(r.out, "--server")) << r.out;
}

TEST(AgLeaderClientTest, UsageErrorsGoToStderrAndExitTwo) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{},
        {"frobnicate"},
        {"get"},
        {"get", "--no_such_flag"},
        {"get", "--leaf_user_id", kUser, "--timeout", "soon"}}) {
    Result r = RunClient(args);
    EXPECT_EQ(r.exit_code, 2) << absl::StrJoin(args, " ") << "\n" << r.err;
    EXPECT_EQ(r.out, "") << absl::StrJoin(args, " ");
    EXPECT_TRUE(absl::StartsWith(r.err, "error: ")) << r.err;
  }
}

TEST(AgLeaderClientTest, AFailedCallExitsOneAndNeverPrintsTheApiKey) {
  Result r = RunClient({"get", "--leaf_user_id", kUser, "--server", ClosedAddress(), "--timeout",
                        "5s", "--service_config", "none", "--api_key", kApiKey});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(absl::StrContains(r.err, "UNAVAILABLE")) << r.err;
  EXPECT_FALSE(absl::StrContains(r.both(), kApiKey)) << r.both();
}

TEST(AgLeaderClientTest, SecretsFromStdinAreReadFromTheProcesssStdin) {
  const std::vector<std::string> create = {"create",
                                           "--leaf_user_id",
                                           kUser,
                                           "--public_key",
                                           "public-key",
                                           "--server",
                                           ClosedAddress(),
                                           "--secrets_from_stdin",
                                           "--timeout",
                                           "5s",
                                           "--service_config",
                                           "none"};
  // A line stdin may not hold: a usage error, proving stdin was read, that
  // does not quote the line.
  Result bad = RunClient(create, absl::StrCat("no_such_secret=", kRefreshToken, "\n"));
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_FALSE(absl::StrContains(bad.both(), kRefreshToken)) << bad.both();
  // A good one gets as far as the (failing) call.
  Result good = RunClient(create, absl::StrCat("refresh_token=", kRefreshToken, "\n"));
  EXPECT_EQ(good.exit_code, 1) << good.err;
  EXPECT_FALSE(absl::StrContains(good.both(), kRefreshToken)) << good.both();
}

}  // namespace
}  // namespace leafsvc::client
