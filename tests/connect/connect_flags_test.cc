#include "server/connect/connect_flags.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/connect/connect_links.h"

namespace leafsvc::connect {
namespace {

// Parses `args` (after the program name) with the connect flags only.
absl::StatusOr<std::optional<ConnectConfig>> Read(std::vector<std::string> args) {
  FlagSet f("AGLEADER_TEST_CONNECT_");
  AddConnectFlags(f);
  args.insert(args.begin(), "server");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  if (absl::Status s = f.Parse(static_cast<int>(argv.size()), argv.data()); !s.ok()) return s;
  return ReadConnectFlags(f);
}

// A new file each call (cases are built before any is read).
std::string KeyFile(const std::string& content) {
  static int n = 0;
  const std::string path =
      std::string(getenv("TEST_TMPDIR")) + "/agleader_private_key_" + std::to_string(++n);
  std::ofstream(path) << content;
  return path;
}

std::vector<std::string> Complete(std::vector<std::string> more = {}) {
  std::vector<std::string> args = {
      "--agleader_public_key=pub", "--agleader_private_key_file=" + KeyFile("s3cret-key\n"),
      "--connect_public_url=https://connect.example.com/", "--connect_listen=127.0.0.1:0"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST(ConnectFlagsTest, OffWithoutAPublicKey) {
  absl::StatusOr<std::optional<ConnectConfig>> c = Read({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->has_value());
}

TEST(ConnectFlagsTest, TheOtherFlagsAloneAreAMistakeNamedByTheFlag) {
  for (const std::string& flag :
       {"--connect_public_url=https://c.example", "--connect_listen=127.0.0.1:0",
        "--connect_return_url_allow=https://app.example/"}) {
    absl::StatusOr<std::optional<ConnectConfig>> c = Read({flag});
    ASSERT_FALSE(c.ok()) << flag;
    EXPECT_NE(c.status().message().find("needs --agleader_public_key"), absl::string_view::npos);
  }
}

TEST(ConnectFlagsTest, ACompleteSetReachesTheOptionsWithDocumentedDefaults) {
  absl::StatusOr<std::optional<ConnectConfig>> c = Read(Complete());
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(c->has_value());
  const ConnectOptions& o = (*c)->options;
  EXPECT_EQ(o.public_key, "pub");
  EXPECT_EQ(o.private_key.Reveal(), "s3cret-key");
  EXPECT_EQ(o.public_url, "https://connect.example.com");  // no trailing slash
  EXPECT_EQ(o.RedirectUri(), "https://connect.example.com/agleader/callback");
  EXPECT_EQ(o.authorize_url, "https://www.agfiniti.com/Account/Authorize");
  EXPECT_EQ(o.token_url, "https://www.agfiniti.com/api/token");
  EXPECT_EQ(o.scopes, "read readwrite");
  EXPECT_FALSE(o.pkce);
  EXPECT_EQ(o.link_ttl, absl::Hours(24 * 7));
  EXPECT_TRUE(o.return_url_allow.empty());
  EXPECT_EQ((*c)->listen, "127.0.0.1:0");
}

TEST(ConnectFlagsTest, MissingPiecesAreRefusedNamingTheFlag) {
  struct Case {
    std::vector<std::string> args;
    const char* names;
  };
  const std::vector<Case> cases = {
      {{"--agleader_public_key=pub"}, "--agleader_private_key_file"},
      {{"--agleader_public_key=pub", "--agleader_private_key_file=" + KeyFile("")}, "is empty"},
      {{"--agleader_public_key=pub", "--agleader_private_key_file=" + KeyFile("k\n"),
        "--connect_listen=127.0.0.1:0"},
       "--connect_public_url"},
      {{"--agleader_public_key=pub", "--agleader_private_key_file=" + KeyFile("k\n"),
        "--connect_public_url=https://c.example"},
       "--connect_listen"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::optional<ConnectConfig>> got = Read(c.args);
    ASSERT_FALSE(got.ok()) << c.names;
    EXPECT_NE(got.status().message().find(c.names), absl::string_view::npos) << got.status();
  }
}

TEST(ConnectFlagsTest, UrlsMustBeHttpsOrLoopbackHttpAndWellFormed) {
  for (const std::string& bad :
       {"--connect_public_url=http://connect.example.com",
        "--connect_public_url=https://c.example/?x=1",
        "--connect_public_url=https://user:pw@c.example", "--connect_public_url=ftp://c.example",
        "--agfiniti_authorize_url=http://agfiniti.example/Account/Authorize",
        "--agfiniti_token_url=javascript:alert(1)",
        "--connect_return_url_allow=http://app.example/",
        "--connect_return_url_allow=https://app.example/?next=1",
        "--connect_return_url_allow=https://app.example/#x"}) {
    absl::StatusOr<std::optional<ConnectConfig>> c = Read(Complete({bad}));
    EXPECT_FALSE(c.ok()) << bad;
  }
  absl::StatusOr<std::optional<ConnectConfig>> local =
      Read(Complete({"--connect_public_url=http://127.0.0.1:8090",
                     "--agfiniti_token_url=http://localhost:8080/agfiniti/api/token",
                     "--connect_return_url_allow=https://app.example/growers/",
                     "--connect_return_url_allow=http://[::1]:3000/"}));
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ((*local)->options.return_url_allow.size(), 2u);
}

TEST(ConnectFlagsTest, TheLinkTtlFlagHasTheRpcsBounds) {
  EXPECT_FALSE(Read(Complete({"--connect_link_ttl=59s"})).ok());
  EXPECT_FALSE(Read(Complete({"--connect_link_ttl=721h"})).ok());
  absl::StatusOr<std::optional<ConnectConfig>> c = Read(Complete({"--connect_link_ttl=720h"}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->options.link_ttl, kMaxLinkTtl);
}

}  // namespace
}  // namespace leafsvc::connect
