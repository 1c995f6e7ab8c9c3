// The connect flow's settings: the AgLeader application's keys, AgFiniti's
// endpoints and where growers reach this service. Built by the wiring from
// the flags (--agleader_public_key, --agfiniti_*, --connect_*).
#ifndef SERVER_CONNECT_CONNECT_OPTIONS_H_
#define SERVER_CONNECT_CONNECT_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/secrets/secret.h"

namespace leafsvc::connect {

struct ConnectOptions {
  std::string public_key;  // AgFiniti's client_id; not secret
  Secret private_key;      // AgFiniti's client secret
  std::string authorize_url = "https://www.agfiniti.com/Account/Authorize";
  std::string token_url = "https://www.agfiniti.com/api/token";
  std::string scopes = "read readwrite";  // space-separated
  std::string public_url;                 // https base, no trailing slash
  std::vector<std::string> return_url_allow;
  absl::Duration link_ttl = absl::Hours(24 * 7);
  absl::Duration attempt_ttl = absl::Minutes(15);
  // PKCE S256 (RFC 7636); off by default since AgFiniti's support is not
  // documented and an unknown parameter might make it refuse the request.
  bool pkce = false;
  // Bounds each call to AgFiniti and to Leaf made while completing a link.
  absl::Duration agfiniti_timeout = absl::Seconds(10);

  // The redirect URI registered with AgFiniti: the same string in the
  // authorize request and the code exchange (RFC 6749 §4.1.3 compares them
  // exactly).
  std::string RedirectUri() const { return public_url + "/agleader/callback"; }
  // The page a grower opens.
  std::string LinkUrl(const std::string& id) const { return public_url + "/connect/" + id; }
};

}  // namespace leafsvc::connect

#endif  // SERVER_CONNECT_CONNECT_OPTIONS_H_
