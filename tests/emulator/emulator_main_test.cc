// Tests of the leaf_emulator binary (emulator_main.cc): flags, their
// environment twins, --help, and serving until SIGTERM or SIGINT.
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/emulator/emulator_fixture.h"

extern "C" char** environ;

namespace leafemu {
namespace {

using namespace emutest;  // NOLINT: the shared fixture's constants and helpers

// Runs emulator/leaf_emulator (a data dependency) with its stdout (and, when
// `with_stderr`, its stderr) on a pipe.
class EmulatorProcess {
 public:
  EmulatorProcess(const std::vector<std::string>& args, const std::vector<std::string>& extra_env,
                  bool with_stderr = false) {
    std::string binary = "emulator/leaf_emulator";
    if (const char* srcdir = std::getenv("TEST_SRCDIR")) {
      const char* ws = std::getenv("TEST_WORKSPACE");
      binary = absl::StrCat(srcdir, "/", ws ? ws : "leaf_agleader_credentials",
                            "/emulator/leaf_emulator");
    }
    std::vector<std::string> argv_s = {binary};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<std::string> env_s;
    for (char** e = environ; *e != nullptr; ++e) {
      if (!absl::StartsWith(*e, "LEAF_EMULATOR_")) env_s.push_back(*e);
    }
    env_s.insert(env_s.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> argv, envp;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);

    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      if (with_stderr) dup2(fds[1], STDERR_FILENO);
      close(fds[0]);
      close(fds[1]);
      execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
    close(fds[1]);
    out_ = fds[0];
  }

  ~EmulatorProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }

  // Everything the process writes to stdout until `deadline` or EOF, or up
  // to the first newline when `one_line`.
  std::string ReadStdout(absl::Duration timeout, bool one_line) {
    std::string out;
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      int ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
      if (poll(&p, 1, std::max(ms, 1)) <= 0) continue;
      char c[4096];
      ssize_t n = read(out_, c, one_line ? 1 : sizeof(c));
      if (n <= 0) break;
      out.append(c, n);
      if (one_line && out.back() == '\n') break;
    }
    return out;
  }

  // The exit code, or -1 if the process did not exit in time.
  int WaitExit(absl::Duration timeout) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    return -1;
  }

  void Signal(int sig) { kill(pid_, sig); }

  // Port from "leaf_emulator listening on http://HOST:PORT", or -1.
  int ReadListeningPort() {
    std::string line = ReadStdout(absl::Seconds(10), /*one_line=*/true);
    std::smatch m;
    if (!std::regex_match(
            line, m, std::regex(R"(leaf_emulator listening on http://127\.0\.0\.1:(\d+)\n)"))) {
      ADD_FAILURE() << "unexpected first line: " << line;
      return -1;
    }
    return std::stoi(m[1]);
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  bool exited_ = false;
};

TEST(LeafEmulatorBinaryTest, ServesOnPickedPortAndExitsZeroOnSigterm) {
  EmulatorProcess proc({"--port=0", "--account", "a@example.com:pw:with:colons", "--token=tok-1",
                        "--token", "tok-2"},
                       {});
  int port = proc.ReadListeningPort();
  ASSERT_GT(port, 0);
  httplib::Client c("127.0.0.1", port);
  auto login =
      c.Post("/api/authenticate", R"({"username":"a@example.com","password":"pw:with:colons"})",
             "application/json");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 200);
  for (const char* token : {"tok-1", "tok-2"}) {
    auto res = c.Get(kCredsPath, {{"Authorization", absl::StrCat("Bearer ", token)}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404) << token;
  }
  EXPECT_EQ(c.Get("/_emulator/health")->status, 200);
  proc.Signal(SIGTERM);
  EXPECT_EQ(proc.WaitExit(absl::Seconds(5)), 0);
}

TEST(LeafEmulatorBinaryTest, EnvironmentTwinsConfigureIt) {
  EmulatorProcess proc({}, {"LEAF_EMULATOR_PORT=0", "LEAF_EMULATOR_ACCOUNTS=x@y.z:p1,u@v.w:p2",
                            "LEAF_EMULATOR_TOKENS=t1,t2", "LEAF_EMULATOR_DUPLICATE_MODE=conflict",
                            absl::StrCat("LEAF_EMULATOR_KNOWN_USERS=", kLeafUser,
                                         ",11111111-2222-3333-4444-555555555555"),
                            "LEAF_EMULATOR_REJECT_INVALID_REFRESH_TOKEN=true"});
  int port = proc.ReadListeningPort();
  ASSERT_GT(port, 0);
  httplib::Client c("127.0.0.1", port);
  EXPECT_EQ(
      c.Post("/api/authenticate", R"({"username":"u@v.w","password":"p2"})", "application/json")
          ->status,
      200);
  httplib::Headers auth = {{"Authorization", "Bearer t2"}};
  EXPECT_EQ(c.Post(kCredsPath, auth, kCreateBody, "application/json")->status, 201);
  EXPECT_EQ(c.Post(kCredsPath, auth, kCreateBody, "application/json")->status, 409);
  EXPECT_EQ(
      c.Post(CredsPathFor("11111111-2222-3333-4444-555555555555"), auth,
             R"({"refreshToken":"invalid","publicKey":"p","privateKey":"k"})", "application/json")
          ->status,
      400);
  EXPECT_EQ(c.Get(CredsPathFor("99999999-2222-3333-4444-555555555555"), auth)->status, 404);
  proc.Signal(SIGINT);
  EXPECT_EQ(proc.WaitExit(absl::Seconds(5)), 0);
}

TEST(LeafEmulatorBinaryTest, FlagWinsOverEnvironment) {
  EmulatorProcess proc({"--port", "0"}, {"LEAF_EMULATOR_PORT=1"});
  EXPECT_GT(proc.ReadListeningPort(), 1);
  proc.Signal(SIGTERM);
  EXPECT_EQ(proc.WaitExit(absl::Seconds(5)), 0);
}

TEST(LeafEmulatorBinaryTest, HelpListsFlagsDefaultsAndEnvNames) {
  EmulatorProcess proc({"--help"}, {});
  std::string out = proc.ReadStdout(absl::Seconds(5), /*one_line=*/false);
  EXPECT_EQ(proc.WaitExit(absl::Seconds(5)), 0);
  for (const char* s : {"--host",
                        "--port",
                        "--account",
                        "--token",
                        "--known_users",
                        "--duplicate_mode",
                        "--reject_invalid_refresh_token",
                        "127.0.0.1",
                        "8080",
                        "LEAF_EMULATOR_HOST",
                        "LEAF_EMULATOR_PORT",
                        "LEAF_EMULATOR_ACCOUNTS",
                        "LEAF_EMULATOR_TOKENS",
                        "LEAF_EMULATOR_KNOWN_USERS",
                        "LEAF_EMULATOR_DUPLICATE_MODE",
                        "LEAF_EMULATOR_REJECT_INVALID_REFRESH_TOKEN",
                        "--rate_limit_per_minute",
                        "--rate_limit_retry_after",
                        "LEAF_EMULATOR_RATE_LIMIT_PER_MINUTE",
                        "LEAF_EMULATOR_RATE_LIMIT_RETRY_AFTER"}) {
    EXPECT_TRUE(absl::StrContains(out, s)) << s;
  }
}

TEST(LeafEmulatorBinaryTest, UnknownFlagFails) {
  EmulatorProcess proc({"--no_such_flag=1"}, {});
  int code = proc.WaitExit(absl::Seconds(5));
  EXPECT_NE(code, 0);
  EXPECT_NE(code, -1);
}

TEST(LeafEmulatorBinaryTest, RateLimitFlagsLimitEachOwner) {
  EmulatorProcess proc(
      {"--port=0", "--token=t", "--rate_limit_per_minute=2", "--rate_limit_retry_after", "4"}, {});
  int port = proc.ReadListeningPort();
  ASSERT_GT(port, 0);
  httplib::Client c("127.0.0.1", port);
  httplib::Headers auth = {{"Authorization", "Bearer t"}};
  EXPECT_EQ(c.Get(kCredsPath, auth)->status, 404);
  EXPECT_EQ(c.Get(kCredsPath, auth)->status, 404);
  auto refused = c.Get(kCredsPath, auth);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429);
  EXPECT_EQ(refused->get_header_value("Retry-After"), "4");
  EXPECT_TRUE(absl::StrContains(c.Get("/_emulator/stats")->body, "\"rate_limited_count\":1"));
  proc.Signal(SIGTERM);
  EXPECT_EQ(proc.WaitExit(absl::Seconds(5)), 0);
}

TEST(LeafEmulatorBinaryTest, RateLimitEnvironmentTwinAndNoRetryAfterByDefault) {
  EmulatorProcess proc({"--port=0", "--token=t"}, {"LEAF_EMULATOR_RATE_LIMIT_PER_MINUTE=1"});
  int port = proc.ReadListeningPort();
  ASSERT_GT(port, 0);
  httplib::Client c("127.0.0.1", port);
  httplib::Headers auth = {{"Authorization", "Bearer t"}};
  EXPECT_EQ(c.Get(kCredsPath, auth)->status, 404);
  auto refused = c.Get(kCredsPath, auth);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429);
  EXPECT_FALSE(refused->has_header("Retry-After"));
  proc.Signal(SIGTERM);
  EXPECT_EQ(proc.WaitExit(absl::Seconds(5)), 0);
}

TEST(LeafEmulatorBinaryTest, BadRateLimitValuesAreRefusedWithTheReason) {
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::vector<std::string> message;  // parts the error must contain
  };
  const Case cases[] = {
      {{"--rate_limit_per_minute=-1"}, {}, {"--rate_limit_per_minute=-1", "out of range"}},
      {{"--rate_limit_per_minute", "lots"}, {}, {"--rate_limit_per_minute=lots", "not an integer"}},
      {{"--rate_limit_retry_after=-5"}, {}, {"--rate_limit_retry_after=-5", "out of range"}},
      {{"--rate_limit_retry_after=soon"}, {}, {"--rate_limit_retry_after=soon", "not an integer"}},
      {{}, {"LEAF_EMULATOR_RATE_LIMIT_PER_MINUTE=-3"}, {"LEAF_EMULATOR_RATE_LIMIT_PER_MINUTE"}},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"--port=0"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    EmulatorProcess proc(args, c.env, /*with_stderr=*/true);
    std::string out = proc.ReadStdout(absl::Seconds(5), /*one_line=*/false);
    EXPECT_EQ(proc.WaitExit(absl::Seconds(5)), 2) << out;
    EXPECT_FALSE(absl::StrContains(out, "listening")) << out;
    for (const std::string& part : c.message) {
      EXPECT_TRUE(absl::StrContains(out, part)) << part << " in: " << out;
    }
  }
}

}  // namespace
}  // namespace leafemu
