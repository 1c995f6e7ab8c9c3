// The address of fleet mode's Redis, parsed from --redis_url:
// redis://[:password@]host[:port][/db] (port 6379 and db 0 by default; an
// IPv6 host in brackets). No TLS (hiredis 0.14 has none), no ACL user name.
//
// Errors name the part that is wrong and never quote the URL: a mistyped URL
// can put the password where the host or port should be.
#ifndef SERVER_FLEET_REDIS_URL_H_
#define SERVER_FLEET_REDIS_URL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/secrets/secret.h"

namespace leafsvc::fleet {

inline constexpr int kDefaultRedisPort = 6379;

struct RedisUrl {
  std::string host;
  int port = kDefaultRedisPort;
  int db = 0;
  // Empty when the URL has none (it may come from a file or the
  // environment instead).
  Secret password;
};

// INVALID_ARGUMENT, with a message naming what is wrong, for anything else.
absl::StatusOr<RedisUrl> ParseRedisUrl(absl::string_view url);

}  // namespace leafsvc::fleet

#endif  // SERVER_FLEET_REDIS_URL_H_
