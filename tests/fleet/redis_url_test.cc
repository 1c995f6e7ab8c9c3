#include "server/fleet/redis_url.h"

#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace leafsvc::fleet {
namespace {

TEST(RedisUrlTest, HostAlone) {
  absl::StatusOr<RedisUrl> u = ParseRedisUrl("redis://redis.internal");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->host, "redis.internal");
  EXPECT_EQ(u->port, 6379);
  EXPECT_EQ(u->db, 0);
  EXPECT_TRUE(u->password.empty());
}

TEST(RedisUrlTest, Full) {
  absl::StatusOr<RedisUrl> u = ParseRedisUrl("redis://:s3cr@t/pw@10.0.0.7:6380/3");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->host, "10.0.0.7");
  EXPECT_EQ(u->port, 6380);
  EXPECT_EQ(u->db, 3);
  EXPECT_EQ(u->password.Reveal(), "s3cr@t/pw");
}

TEST(RedisUrlTest, VariantsThatAreFine) {
  struct Case {
    const char* url;
    const char* host;
    int port;
    int db;
  } cases[] = {
      {"redis://localhost:6379", "localhost", 6379, 0},
      {"redis://localhost:6379/", "localhost", 6379, 0},
      {"redis://localhost/2", "localhost", 6379, 2},
      {"REDIS://Host-1.example_x:1/15", "Host-1.example_x", 1, 15},
      {"redis://[::1]:7000/1", "::1", 7000, 1},
      {"redis://[::1]", "::1", 6379, 0},
      {"redis://127.0.0.1:65535", "127.0.0.1", 65535, 0},
  };
  for (const Case& c : cases) {
    absl::StatusOr<RedisUrl> u = ParseRedisUrl(c.url);
    ASSERT_TRUE(u.ok()) << c.url << ": " << u.status();
    EXPECT_EQ(u->host, c.host) << c.url;
    EXPECT_EQ(u->port, c.port) << c.url;
    EXPECT_EQ(u->db, c.db) << c.url;
  }
}

// Each bad URL fails with INVALID_ARGUMENT and a message naming the part;
// the password planted in each ("hunter2") never shows, even where a typo
// puts it in the host or port.
TEST(RedisUrlTest, BadInputsNameThePartAndNeverQuoteThePassword) {
  struct Case {
    std::string url;
    const char* says;
  } cases[] = {
      {"", "empty"},
      {"hunter2", "does not start with redis://"},
      {"http://:hunter2@h:1", "does not start with redis://"},
      {"rediss://:hunter2@h:1", "TLS"},
      {"unix:///tmp/hunter2.sock", "Unix sockets"},
      {"redis://", "host is empty"},
      {"redis://:hunter2", "host is empty"},
      {"redis://h:hunter2", "port"},
      {"redis://hunter2:6379@h", "user names"},
      {"redis://user:hunter2@h", "user names"},
      {"redis://:@h", "password"},
      {"redis://:hunter2@", "host is empty"},
      {"redis://:hunter2@:6379", "host is empty"},
      {"redis://h:0", "port"},
      {"redis://h:65536", "port"},
      {"redis://h:-1", "port"},
      {"redis://h:+1", "port"},
      {"redis://h: 1", "port"},
      {"redis://h:", "port"},
      {"redis://h:99999999999999999999", "port"},
      {"redis://h/x", "database"},
      {"redis://h/-1", "database"},
      {"redis://h/1/2", "database"},
      {"redis://h/99999999", "database"},
      {"redis://h?db=1", "query"},
      {"redis://h/1#frag", "query"},
      {"redis://h%20x", "invalid character"},
      {"redis://hunter2 x", "invalid character"},
      {"redis://[::1", "']'"},
      {"redis://[]:1", "host is empty"},
      {"redis://[::1]x", "after the IPv6 host"},
      {"redis://[zz::hunter2]", "IPv6 host"},
      {"redis://" + std::string(300, 'a'), "253"},
      {std::string("redis://h\0x", 11), "invalid character"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<RedisUrl> u = ParseRedisUrl(c.url);
    ASSERT_FALSE(u.ok()) << c.url;
    EXPECT_EQ(u.status().code(), absl::StatusCode::kInvalidArgument) << c.url;
    const std::string message(u.status().message());
    EXPECT_NE(message.find(c.says), std::string::npos) << c.url << " -> " << message;
    EXPECT_EQ(message.find("hunter2"), std::string::npos) << c.url << " -> " << message;
  }
}

// A crude fuzz: every prefix and every one-character mutation of a good URL
// parses or fails cleanly, and no failure quotes the password.
TEST(RedisUrlTest, MutationsNeverCrashOrLeak) {
  const std::string good = "redis://:hunter2@10.1.2.3:6380/4";
  const std::string alphabet = ":/@[]?#%x0 \t\xff";
  int failures = 0;
  auto check = [&](const std::string& url) {
    absl::StatusOr<RedisUrl> u = ParseRedisUrl(url);
    if (!u.ok()) {
      ++failures;
      EXPECT_EQ(u.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(std::string(u.status().message()).find("hunter2"), std::string::npos) << url;
    } else {
      EXPECT_FALSE(u->host.empty()) << url;
      EXPECT_GE(u->port, 1);
      EXPECT_LE(u->port, 65535);
      EXPECT_GE(u->db, 0);
    }
  };
  for (size_t i = 0; i <= good.size(); ++i) check(good.substr(0, i));
  for (size_t i = 0; i < good.size(); ++i) {
    for (char c : alphabet) {
      std::string m = good;
      m[i] = c;
      check(m);
    }
  }
  EXPECT_GT(failures, 0);
}

}  // namespace
}  // namespace leafsvc::fleet
