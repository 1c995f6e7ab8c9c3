// The server binary's main() (server/main.cc), run as a process: --help, a
// bad command line, a descriptor reserve the limit cannot hold, and a service
// that cannot start each end with their exit code and a message naming what
// to fix, and a secret given on the command line or in the environment never
// appears in what the process prints. (Serving, the secrets leaving
// /proc/PID/cmdline and environ, and SIGTERM are tests/process/'s.)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/config/config.h"
#include "tests/process/subprocess.h"

extern "C" char** environ;

namespace leafsvc {
namespace {

constexpr char kToken[] = "leaf-token-never-printed-7c1e";
constexpr char kPageKey[] = "page-key-never-printed-0123456789abcdef";

std::string Binary() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* ws = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr || ws == nullptr) return "server/agleader_credentials_server";
  return absl::StrCat(srcdir, "/", ws, "/server/agleader_credentials_server");
}

struct Result {
  int exit_code = -1;  // -1: killed after the timeout
  std::string out;
  std::string err;
  std::string both() const { return out + err; }
};

// Runs the server with `args`, the environment without AGLEADER_* plus
// `env`, and optionally a lower RLIMIT_NOFILE; waits at most 60 s.
Result RunServer(const std::vector<std::string>& args,
                 const std::map<std::string, std::string>& env = {}, rlim_t nofile = 0) {
  std::vector<std::string> argv = {Binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  testing::CommandOptions options;
  options.env = env;
  options.drop_env_prefix = "AGLEADER_";
  options.timeout = absl::Seconds(60);
  options.nofile = nofile;
  testing::CommandResult r = testing::RunCommandWith(argv, options);
  return Result{r.exit_code, std::move(r.out), std::move(r.err)};
}

TEST(ServerMainTest, HelpExitsZeroAndListsEveryFlag) {
  Result r = RunServer({"--help"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  for (const std::string& name : ServerFlags().Names()) {
    EXPECT_TRUE(absl::StrContains(r.out, "--" + name)) << name << " missing from --help";
  }
  EXPECT_EQ(RunServer({"-h"}).exit_code, 0);
}

TEST(ServerMainTest, HelpNeverShowsASecretsValue) {
  Result r = RunServer({"--help", std::string("--page_token_key=") + kPageKey},
                       {{"AGLEADER_LEAF_TOKEN", kToken}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(absl::StrContains(r.both(), kToken));
  EXPECT_FALSE(absl::StrContains(r.both(), kPageKey));
}

TEST(ServerMainTest, AnUnknownFlagExitsTwoNamingItAndNotTheSecrets) {
  Result r = RunServer({std::string("--leaf_token=") + kToken, "--no_such_flag=1",
                        std::string("--page_token_key=") + kPageKey});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(absl::StrContains(r.err, "no_such_flag")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "\"event\":\"invalid configuration\"")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "\"level\":\"error\"")) << r.err;
  EXPECT_FALSE(absl::StrContains(r.both(), kToken)) << r.err;
  EXPECT_FALSE(absl::StrContains(r.both(), kPageKey)) << r.err;
}

TEST(ServerMainTest, ABadValueExitsTwoNamingTheFlag) {
  for (const char* bad : {"--upstream_timeout=banana", "--max_attempts=0", "--log_level=loud",
                          "--fd_reserve=-1", "--http_max_connections=0"}) {
    const std::string arg = bad;
    const std::string flag = arg.substr(2, arg.find('=') - 2);
    Result r = RunServer({arg}, {{"AGLEADER_LEAF_TOKEN", kToken}});
    EXPECT_EQ(r.exit_code, 2) << bad << "\n" << r.err;
    EXPECT_TRUE(absl::StrContains(r.err, flag)) << bad << ": " << r.err;
    EXPECT_FALSE(absl::StrContains(r.both(), kToken)) << r.err;
  }
}

TEST(ServerMainTest, ABadSecretValueIsNamedButNeverQuoted) {
  // Shorter than the 32 bytes a page token key needs.
  const std::string short_key = "short-page-key-secret";
  Result r = RunServer({"--page_token_key=" + short_key}, {{"AGLEADER_LEAF_TOKEN", kToken}});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "page_token_key")) << r.err;
  EXPECT_FALSE(absl::StrContains(r.both(), short_key)) << r.err;
  EXPECT_FALSE(absl::StrContains(r.both(), kToken)) << r.err;
}

TEST(ServerMainTest, NoLeafCredentialsExitsTwoSayingWhatToSet) {
  Result r = RunServer({});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "AGLEADER_LEAF_TOKEN")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "AGLEADER_LEAF_PASSWORD")) << r.err;
}

TEST(ServerMainTest, AReserveTheDescriptorLimitCannotHoldExitsTwo) {
  Result r = RunServer({"--listen=127.0.0.1:0", "--fd_reserve=200"},
                       {{"AGLEADER_LEAF_TOKEN", kToken}}, /*nofile=*/256);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "--fd_reserve 200")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "RLIMIT_NOFILE")) << r.err;
  EXPECT_FALSE(absl::StrContains(r.both(), "listening on"));
  EXPECT_FALSE(absl::StrContains(r.both(), kToken)) << r.err;
}

TEST(ServerMainTest, AServiceThatCannotStartExitsOne) {
  // Hold a port so that the server cannot listen on it.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string listen = absl::StrCat("--listen=127.0.0.1:", ntohs(addr.sin_port));
  Result r =
      RunServer({listen, "--leaf_api_url=http://127.0.0.1:1"}, {{"AGLEADER_LEAF_TOKEN", kToken}});
  close(fd);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "\"event\":\"could not start\"")) << r.err;
  EXPECT_FALSE(absl::StrContains(r.out, "listening on")) << r.out;
  EXPECT_FALSE(absl::StrContains(r.both(), kToken)) << r.err;
}

}  // namespace
}  // namespace leafsvc
