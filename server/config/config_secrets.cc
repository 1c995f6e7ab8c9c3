#include "server/config/config_secrets.h"

namespace leafsvc {

void WipeSecrets(ServerConfig& config) {
  config.leaf_token.Wipe();
  config.leaf_password.Wipe();
  config.security.api_keys.Wipe();
  WipeString(config.page_token_key);
  config.alerts_secret.Wipe();
  config.redis_url.Wipe();
  config.redis_password.Wipe();
  if (config.connect.has_value()) config.connect->options.private_key.Wipe();
}

}  // namespace leafsvc
