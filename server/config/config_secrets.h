// Secrets a ServerConfig holds only until the service is built: the token
// source, the listener credentials and the service keep their own copies, so
// the configuration objects that live on (App's, main's) are wiped.
#ifndef SERVER_CONFIG_CONFIG_SECRETS_H_
#define SERVER_CONFIG_CONFIG_SECRETS_H_

#include "server/config/config.h"

namespace leafsvc {

// Wipes the Leaf token and password, the caller API keys, the page token
// key and the alerts webhook secret (buffers zeroed, fields empty).
// Everything else is kept.
void WipeSecrets(ServerConfig& config);

}  // namespace leafsvc

#endif  // SERVER_CONFIG_CONFIG_SECRETS_H_
