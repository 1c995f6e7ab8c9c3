// WipeSecrets (server/config/config_secrets.h): every secret a ServerConfig holds is
// emptied with its buffer zeroed, and nothing else changes.
#include "server/config/config_secrets.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/config/config_fields.h"

namespace leafsvc {
namespace {

// Long enough to live on the heap, so the buffer outlives a shallow look.
std::string Value(const char* tag) { return std::string(tag) + std::string(48, 'x'); }

// A configuration where every field differs from its default, so a wipe
// that touched a non-secret field would show in DifferingFields.
ServerConfig Everything() {
  ServerConfig c;
  c.listen = "0.0.0.0:9";
  c.leaf_api_url = "http://leaf.test";
  c.leaf_token = Secret(Value("token-"));
  c.leaf_username = "u@example.com";
  c.leaf_password = Secret(Value("password-"));
  c.upstream_timeout = absl::Seconds(3);
  c.leaf_ca_file = "/ca.pem";
  c.allow_full_view = true;
  c.page_token_key = Value("page-key-");
  c.metrics_listen = "127.0.0.1:0";
  c.security.tls_cert_file = "/cert.pem";
  c.security.api_keys_file = "/keys";
  c.security.api_keys = Secret(Value("api-keys-"));
  c.alerts_listen = "127.0.0.1:0";
  c.alerts_public_url = "https://hooks.test/alerts";
  c.alerts_secret = Secret(Value("alerts-"));
  c.connection_limits.fd_reserve = 7;
  c.http_limits.max_connections = 5;
  return c;
}

TEST(WipeSecretsTest, EmptiesExactlyTheFiveSecretsAndKeepsEveryOtherField) {
  const ServerConfig before = Everything();
  ServerConfig c = before;
  WipeSecrets(c);
  std::vector<std::string> changed = testing::DifferingFields(before, c);
  std::sort(changed.begin(), changed.end());
  EXPECT_EQ(changed, (std::vector<std::string>{"alerts_secret", "leaf_password", "leaf_token",
                                               "page_token_key", "security.api_keys"}));
  EXPECT_TRUE(c.leaf_token.empty());
  EXPECT_TRUE(c.leaf_password.empty());
  EXPECT_TRUE(c.security.api_keys.empty());
  EXPECT_TRUE(c.page_token_key.empty());
  EXPECT_TRUE(c.alerts_secret.empty());
}

TEST(WipeSecretsTest, ZeroesEachSecretsBufferNotJustItsLength) {
  ServerConfig c = Everything();
  // WipeString keeps the buffer, so reading it after the wipe is defined.
  struct Buffer {
    const char* name;
    const char* data;
    size_t size;
  };
  const std::vector<Buffer> buffers = {
      {"leaf_token", c.leaf_token.Reveal().data(), c.leaf_token.Reveal().size()},
      {"leaf_password", c.leaf_password.Reveal().data(), c.leaf_password.Reveal().size()},
      {"api_keys", c.security.api_keys.Reveal().data(), c.security.api_keys.Reveal().size()},
      {"page_token_key", c.page_token_key.data(), c.page_token_key.size()},
      {"alerts_secret", c.alerts_secret.Reveal().data(), c.alerts_secret.Reveal().size()},
  };
  WipeSecrets(c);
  for (const Buffer& b : buffers) {
    EXPECT_EQ(std::string(b.data, b.size), std::string(b.size, '\0')) << b.name;
  }
}

TEST(WipeSecretsTest, WipingTwiceOrAnEmptyConfigIsHarmless) {
  ServerConfig empty;
  const ServerConfig defaults;
  WipeSecrets(empty);
  EXPECT_TRUE(testing::DifferingFields(defaults, empty).empty());
  ServerConfig c = Everything();
  WipeSecrets(c);
  WipeSecrets(c);
  EXPECT_TRUE(c.leaf_token.empty());
  EXPECT_EQ(c.listen, "0.0.0.0:9");
}

}  // namespace
}  // namespace leafsvc
