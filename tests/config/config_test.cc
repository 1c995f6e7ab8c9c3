#include "server/config/config.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/config/config_secrets.h"

namespace leafsvc {
namespace {

absl::StatusOr<ParsedConfig> Parse(std::vector<const char*> args) {
  args.insert(args.begin(), "server");
  return ParseServerConfig(static_cast<int>(args.size()), const_cast<char**>(args.data()));
}

TEST(ConfigTest, DefaultsWithAStaticToken) {
  auto p = Parse({"--leaf_token=abc"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->config.listen, "127.0.0.1:50051");
  EXPECT_EQ(p->config.leaf_api_url, "https://api.withleaf.io");
  EXPECT_EQ(p->config.upstream_timeout, absl::Seconds(10));
  EXPECT_FALSE(p->config.allow_full_view);
  EXPECT_EQ(p->config.leaf_token.Reveal(), "abc");
}

TEST(ConfigTest, EnvironmentTwins) {
  setenv("AGLEADER_LEAF_USERNAME", "u@example.com", 1);
  setenv("AGLEADER_LEAF_PASSWORD", "pw", 1);
  setenv("AGLEADER_LISTEN", "0.0.0.0:6000", 1);
  auto p = Parse({});
  unsetenv("AGLEADER_LEAF_USERNAME");
  unsetenv("AGLEADER_LEAF_PASSWORD");
  unsetenv("AGLEADER_LISTEN");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->config.leaf_username, "u@example.com");
  EXPECT_EQ(p->config.leaf_password.Reveal(), "pw");
  EXPECT_EQ(p->config.listen, "0.0.0.0:6000");
}

TEST(ConfigTest, LeafAuthMustBeConfiguredExactlyOnce) {
  EXPECT_FALSE(Parse({}).ok());
  EXPECT_FALSE(Parse({"--leaf_token=t", "--leaf_username=u", "--leaf_password=p"}).ok());
  EXPECT_FALSE(Parse({"--leaf_username=u"}).ok());
}

TEST(ConfigTest, BadValuesAreExplained) {
  auto p = Parse({"--leaf_token=t", "--upstream_timeout=forever"});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("upstream_timeout"), absl::string_view::npos);
  EXPECT_FALSE(Parse({"--leaf_token=t", "--leaf_api_url=ftp://x"}).ok());
  EXPECT_FALSE(Parse({"--leaf_token=t", "--log_level=loud"}).ok());
  EXPECT_FALSE(Parse({"--leaf_token=t", "stray"}).ok());
}

TEST(ConfigTest, HelpListsEveryFlagWithItsEnvironmentVariable) {
  auto p = Parse({"--help"});
  ASSERT_TRUE(p.ok());
  for (const char* s :
       {"--listen", "AGLEADER_LISTEN", "--leaf_api_url", "--leaf_token", "--leaf_username",
        "--leaf_password", "--upstream_timeout", "--allow_full_view", "--shutdown_grace"}) {
    EXPECT_NE(p->help.find(s), std::string::npos) << s;
  }
}

TEST(ConfigTest, SecretsNeverAppearInErrors) {
  auto p = Parse({"--leaf_token=tok-secret", "--leaf_password=pw-secret"});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message().find("tok-secret"), absl::string_view::npos);
  EXPECT_EQ(p.status().message().find("pw-secret"), absl::string_view::npos);
}

std::string WriteFile(const std::string& name, const std::string& contents) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs(contents.c_str(), f);
  std::fclose(f);
  return path;
}

TEST(ConfigTest, PageTokenKeyHasNoPublicDefault) {
  auto p = Parse({"--leaf_token=abc"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->config.page_token_key, "");  // App draws a random key and warns
  const std::string key(32, 'k');
  const std::string flag = "--page_token_key=" + key;
  p = Parse({"--leaf_token=abc", flag.c_str()});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->config.page_token_key, key);
}

TEST(ConfigTest, WipeSecretsEmptiesEverySecretAndKeepsTheRest) {
  auto p = Parse({"--leaf_username=u@example.com", "--leaf_password=pw-long-enough-for-heap-0001",
                  "--page_token_key=kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
                  "--api_keys=caller-key-0000000001,caller-key-0000000002",
                  "--alerts_listen=127.0.0.1:0",
                  "--alerts_secret=alerts-secret-000000000000000000000001"});
  ASSERT_TRUE(p.ok()) << p.status();
  ServerConfig c = p->config;
  const char* password_buffer = c.leaf_password.Reveal().data();
  const size_t password_size = c.leaf_password.Reveal().size();
  WipeSecrets(c);
  EXPECT_TRUE(c.leaf_password.empty());
  EXPECT_TRUE(c.leaf_token.empty());
  EXPECT_TRUE(c.security.api_keys.empty());
  EXPECT_TRUE(c.page_token_key.empty());
  EXPECT_TRUE(c.alerts_secret.empty());
  EXPECT_EQ(c.alerts_listen, "127.0.0.1:0");
  EXPECT_EQ(std::string(password_buffer, password_size), std::string(password_size, '\0'));
  EXPECT_EQ(c.leaf_username, "u@example.com");
  EXPECT_EQ(c.listen, p->config.listen);
}

TEST(ConfigTest, ConnectionLimitsHaveDocumentedDefaultsAndRanges) {
  auto p = Parse({"--leaf_token=abc"});
  ASSERT_TRUE(p.ok()) << p.status();
  const ConnectionLimits& l = p->config.connection_limits;
  EXPECT_EQ(l.handshake_timeout, absl::Seconds(10));
  EXPECT_EQ(l.max_connection_idle, absl::Minutes(5));
  EXPECT_EQ(l.grpc_memory_quota, std::size_t{256} << 20);
  EXPECT_EQ(l.fd_reserve, 128);
  setenv("AGLEADER_HANDSHAKE_TIMEOUT", "3s", 1);
  p = Parse({"--leaf_token=abc", "--max_connection_idle=0", "--fd_reserve=0"});
  unsetenv("AGLEADER_HANDSHAKE_TIMEOUT");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->config.connection_limits.handshake_timeout, absl::Seconds(3));
  EXPECT_EQ(p->config.connection_limits.max_connection_idle, absl::ZeroDuration());
  EXPECT_EQ(p->config.connection_limits.fd_reserve, 0);
  for (const char* bad : {"--handshake_timeout=0s", "--handshake_timeout=1h", "--fd_reserve=-1",
                          "--grpc_memory_quota=1000", "--max_connection_idle=-1s"}) {
    auto r = Parse({"--leaf_token=abc", bad});
    ASSERT_FALSE(r.ok()) << bad;
    const std::string flag(bad, std::string(bad).find('='));
    EXPECT_NE(std::string(r.status().message()).find(flag), std::string::npos)
        << bad << ": " << r.status().message();
  }
}

TEST(ConfigFileTest, SecretsCanComeFromFiles) {
  const std::string token = WriteFile("token", "tok-from-file\n");
  auto p = Parse({("--leaf_token_file=" + token).c_str()});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->config.leaf_token.Reveal(), "tok-from-file");

  const std::string password = WriteFile("password", "pw-from-file");
  p = Parse({"--leaf_username=u", ("--leaf_password_file=" + password).c_str()});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->config.leaf_password.Reveal(), "pw-from-file");
}

TEST(ConfigFileTest, BadSecretFilesAreExplainedWithoutTheirContents) {
  const std::string two_lines = WriteFile("two", "line-one-secret\nline-two-secret\n");
  auto p = Parse({("--leaf_token_file=" + two_lines).c_str()});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("--leaf_token_file"), absl::string_view::npos);
  EXPECT_EQ(p.status().message().find("line-one-secret"), absl::string_view::npos);
  EXPECT_FALSE(Parse({"--leaf_token_file=/nonexistent/token"}).ok());
  const std::string token = WriteFile("token2", "t");
  EXPECT_FALSE(Parse({"--leaf_token=t", ("--leaf_token_file=" + token).c_str()}).ok());
}

// main() wipes every secret flag from argv and the environment once parsed;
// the alerts secret is one of them, from either source.
TEST(ConfigTest, TheAlertsSecretLeavesArgvAndTheEnvironment) {
  std::string value = "--alerts_secret=alerts-secret-in-argv-00000000000000";
  std::string listen = "--alerts_listen=127.0.0.1:0";
  std::vector<char*> argv = {const_cast<char*>("server"), listen.data(), value.data()};
  ServerFlags().WipeSecretSources(static_cast<int>(argv.size()), argv.data());
  EXPECT_EQ(std::string(value.c_str()), "--alerts_secret=");
  EXPECT_EQ(std::string(listen.c_str()), "--alerts_listen=127.0.0.1:0");
  setenv("AGLEADER_ALERTS_SECRET", "alerts-secret-in-env-000000000000000", 1);
  ServerFlags().WipeSecretSources(1, argv.data());
  const char* env = std::getenv("AGLEADER_ALERTS_SECRET");
  EXPECT_TRUE(env == nullptr || std::string(env).empty());
  unsetenv("AGLEADER_ALERTS_SECRET");
}

}  // namespace
}  // namespace leafsvc

namespace leafsvc {
namespace {

// Every numeric flag is range-checked: a negative, overflowing or absurd
// value stops the server at start, naming the flag, the value and the range.
TEST(ConfigRangeTest, OutOfRangeNumbersAreRefusedWithFlagValueAndRange) {
  struct Case {
    const char* arg;
    const char* range;
  };
  for (const Case& c : {
           Case{"--max_response_bytes=-1", "1024 to 1073741824"},
           Case{"--max_attempts=4294967297", "1 to 10"},
           Case{"--max_attempts=0", "1 to 10"},
           Case{"--max_attempts=99999999999999999999999", "1 to 10"},
           Case{"--max_upstream_in_flight=-5", "1 to 1000000"},
           Case{"--max_connections_per_host=0", "1 to 10000"},
           Case{"--upstream_timeout=0s", "10ms to 1h"},
           Case{"--upstream_timeout=-3s", "10ms to 1h"},
           Case{"--connect_timeout=100000h", "10ms to 10m"},
           Case{"--shutdown_grace=2h", "0 to 1h"},
           Case{"--leaf_login_backoff=1ms", "10ms to 1h"},
       }) {
    SCOPED_TRACE(c.arg);
    auto p = Parse({"--leaf_token=abc", c.arg});
    ASSERT_FALSE(p.ok());
    const std::string message(p.status().message());
    const std::string arg(c.arg);
    const std::string flag = arg.substr(0, arg.find('='));
    const std::string value = arg.substr(arg.find('=') + 1);
    EXPECT_NE(message.find(flag), std::string::npos) << message;
    EXPECT_NE(message.find(value), std::string::npos) << message;
    EXPECT_NE(message.find(c.range), std::string::npos) << message;
  }
}

TEST(ConfigRangeTest, OutOfRangeEnvironmentValuesAreRefusedToo) {
  setenv("AGLEADER_MAX_ATTEMPTS", "4294967297", 1);
  auto p = Parse({"--leaf_token=abc"});
  unsetenv("AGLEADER_MAX_ATTEMPTS");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("AGLEADER_MAX_ATTEMPTS"), absl::string_view::npos);
}

TEST(ConfigRangeTest, EveryNumericServerFlagHasADeclaredRange) {
  FlagSet flags = ServerFlags();
  for (const std::string& name : flags.Names()) {
    const std::string range = flags.RangeText(name);
    if (range.empty()) continue;
    // The defaults of FlagSet (an int's full range, 0 to 100 years) mean
    // nobody thought about the flag.
    EXPECT_EQ(range.find("2147483647"), std::string::npos) << name;
    EXPECT_EQ(range.find("876000h"), std::string::npos) << name;
  }
}

TEST(ConfigRangeTest, BoundsThemselvesAreAccepted) {
  auto p = Parse({"--leaf_token=abc", "--max_attempts=10", "--max_response_bytes=1024",
                  "--shutdown_grace=0s", "--upstream_first_byte_timeout=0s"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->config.max_attempts, 10);
  EXPECT_EQ(p->config.upstream_first_byte_timeout, absl::ZeroDuration());
}

// Both are HMAC keys anyone on the network may try to guess offline (the
// alert signature, a page token): a short one is refused at start, with the
// flag and the minimum named and the value never quoted.
TEST(ConfigTest, SecretKeysShorterThan32BytesAreRefused) {
  const std::string short_key(31, 'x');
  const std::string long_key(32, 'y');
  const std::string short_page = "--page_token_key=" + short_key;
  const std::string long_page = "--page_token_key=" + long_key;
  auto p = Parse({"--leaf_token=abc", short_page.c_str()});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("--page_token_key"), absl::string_view::npos);
  EXPECT_NE(p.status().message().find("32 bytes"), absl::string_view::npos);
  EXPECT_EQ(p.status().message().find(short_key), absl::string_view::npos);
  EXPECT_TRUE(Parse({"--leaf_token=abc", long_page.c_str()}).ok());

  const std::string short_secret = "--alerts_secret=" + short_key;
  const std::string long_secret = "--alerts_secret=" + long_key;
  for (const char* alerts :
       {"--alerts_listen=127.0.0.1:0", "--alerts_public_url=https://svc.example.com/alerts"}) {
    p = Parse({"--leaf_token=abc", alerts, short_secret.c_str()});
    ASSERT_FALSE(p.ok()) << alerts;
    EXPECT_NE(p.status().message().find("--alerts_secret"), absl::string_view::npos);
    EXPECT_NE(p.status().message().find("32 bytes"), absl::string_view::npos);
    EXPECT_EQ(p.status().message().find(short_key), absl::string_view::npos);
    EXPECT_TRUE(Parse({"--leaf_token=abc", alerts, long_secret.c_str()}).ok()) << alerts;
  }
  // From the file too.
  const std::string file = "--alerts_secret_file=" + WriteFile("short_alerts_secret", short_key);
  EXPECT_FALSE(Parse({"--leaf_token=abc", "--alerts_listen=127.0.0.1:0", file.c_str()}).ok());
  // Alerts off: the secret is not used, so not checked.
  EXPECT_TRUE(Parse({"--leaf_token=abc", short_secret.c_str()}).ok());
}

}  // namespace
}  // namespace leafsvc

namespace leafsvc {
namespace {

// Fleet mode's Redis: the URL is checked at startup with a message that
// names the flag and never quotes a password; the password lives in one
// place.
TEST(ConfigFleetTest, RedisUrlAndPassword) {
  auto ok = Parse({"--leaf_token=t", "--redis_url=redis://10.0.0.5:6380/2"});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->config.redis_url.Reveal(), "redis://10.0.0.5:6380/2");
  auto bad = Parse({"--leaf_token=t", "--redis_url=redis://:hunter2-secret@host:notaport"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("--redis_url"), std::string::npos) << bad.status();
  EXPECT_EQ(bad.status().message().find("hunter2"), std::string::npos) << bad.status();
  auto twice =
      Parse({"--leaf_token=t", "--redis_url=redis://:p1@host:6379", "--redis_password=p2-secret"});
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().message().find("p2-secret"), std::string::npos);
  EXPECT_FALSE(Parse({"--leaf_token=t", "--redis_password=lonely"}).ok());
}

}  // namespace
}  // namespace leafsvc
