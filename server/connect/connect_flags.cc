#include "server/connect/connect_flags.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/config/flag_file.h"
#include "server/connect/connect_links.h"
#include "server/connect/return_url_policy.h"

namespace leafsvc::connect {
namespace {

using T = FlagSet::Type;

// https://, or http:// on loopback only (a local emulator or a TLS proxy on
// the same host), parsed strictly by the return URL policy's parser.
bool IsServiceUrl(absl::string_view url) { return ParseReturnUrl(url).ok(); }

}  // namespace

void AddConnectFlags(FlagSet& f) {
  f.Add("agleader_public_key", T::kString, "",
        "connect links (docs/connect.md): the AgLeader application's public key (AgFiniti's "
        "client_id); empty: connect links off");
  f.Add("agleader_private_key_file", T::kString, "",
        "file holding the AgLeader application's private key (one line); a secret: it never "
        "leaves the server but to AgFiniti's token endpoint and Leaf");
  f.Add("agfiniti_authorize_url", T::kString, "https://www.agfiniti.com/Account/Authorize",
        "AgFiniti's consent page (OAuth authorization endpoint)");
  f.Add("agfiniti_token_url", T::kString, "https://www.agfiniti.com/api/token",
        "AgFiniti's token endpoint (the code exchange)");
  f.Add("agfiniti_scopes", T::kString, "read readwrite",
        "the scopes asked of the grower, space-separated (Leaf needs read and readwrite; add "
        "fileupload for prescriptions)");
  f.Add("agfiniti_pkce", T::kBool, "false",
        "send a PKCE S256 challenge (RFC 7636) with each consent request; whether AgFiniti "
        "supports it is not documented");
  f.Add("connect_public_url", T::kString, "",
        "the https:// base URL where growers reach --connect_listen (through your TLS proxy); "
        "the redirect URL to register with AgFiniti is this + /agleader/callback");
  f.Add("connect_listen", T::kString, "",
        "host:port of the HTTP listener of the grower's pages (/connect/..., "
        "/agleader/callback); put TLS in front of it");
  f.Add("connect_return_url_allow", T::kList, "",
        "a prefix a CreateConnectLink return_url may start with (https://, at a path "
        "boundary); repeat the flag for several; none: return URLs refused");
  f.SetEnvName("connect_return_url_allow", "AGLEADER_CONNECT_RETURN_URL_ALLOWS");
  f.Add("connect_link_ttl", T::kDuration, "168h",
        "how long a connect link works unless CreateConnectLink gives a ttl");
  f.SetRange("connect_link_ttl", kMinLinkTtl, kMaxLinkTtl);
  f.Add("connect_display_name", T::kString, "Your farm data service",
        "who asks, as the grower's pages name it (e.g. your company or product)");
}

absl::StatusOr<std::optional<ConnectConfig>> ReadConnectFlags(const FlagSet& f) {
  const std::string public_key = f.GetString("agleader_public_key");
  const std::string key_file = f.GetString("agleader_private_key_file");
  if (public_key.empty()) {
    for (absl::string_view other : {"agleader_private_key_file", "connect_public_url",
                                    "connect_listen", "connect_return_url_allow"}) {
      if (f.IsSet(other)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", other,
                         " needs --agleader_public_key (connect links are off "
                         "without it)"));
      }
    }
    return std::nullopt;
  }
  ConnectConfig c;
  ConnectOptions& o = c.options;
  o.public_key = public_key;
  if (key_file.empty()) {
    return absl::InvalidArgumentError(
        "--agleader_public_key needs --agleader_private_key_file (the application's private "
        "key, from AgFiniti's Consumer Keys tab)");
  }
  absl::StatusOr<std::string> key = ReadSecretFlagFile("agleader_private_key_file", key_file);
  if (!key.ok()) return key.status();
  o.private_key = Secret(*std::move(key));  // never empty: the reader refuses that
  o.authorize_url = f.GetString("agfiniti_authorize_url");
  o.token_url = f.GetString("agfiniti_token_url");
  for (absl::string_view flag : {"agfiniti_authorize_url", "agfiniti_token_url"}) {
    const std::string url = f.GetString(flag);
    if (!IsServiceUrl(url)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", flag, " must be an https:// URL (http:// only on 127.0.0.1 or localhost)"));
    }
  }
  o.scopes = std::string(absl::StripAsciiWhitespace(f.GetString("agfiniti_scopes")));
  if (o.scopes.empty()) return absl::InvalidArgumentError("--agfiniti_scopes is empty");
  o.pkce = f.GetBool("agfiniti_pkce");
  o.public_url = std::string(absl::StripSuffix(f.GetString("connect_public_url"), "/"));
  if (o.public_url.empty()) {
    return absl::InvalidArgumentError(
        "--agleader_public_key needs --connect_public_url: the https:// base URL where growers "
        "reach --connect_listen");
  }
  absl::StatusOr<ParsedUrl> public_url = ParseReturnUrl(o.public_url);
  if (!public_url.ok() || public_url->has_query) {
    return absl::InvalidArgumentError(
        "--connect_public_url must be an https:// base URL without query or fragment (http:// "
        "only on 127.0.0.1 or localhost)");
  }
  c.listen = f.GetString("connect_listen");
  if (c.listen.empty()) {
    return absl::InvalidArgumentError(
        "--agleader_public_key needs --connect_listen: host:port of the grower's pages");
  }
  for (const std::string& prefix : f.GetList("connect_return_url_allow")) {
    if (!prefix.empty()) o.return_url_allow.push_back(prefix);
  }
  if (absl::Status s = ReturnUrlPolicy::CheckPrefixes(o.return_url_allow); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--connect_return_url_allow: every prefix must be an https:// URL without query (http:// "
        "only on 127.0.0.1 or localhost): ",
        s.message()));
  }
  o.link_ttl = f.GetDuration("connect_link_ttl");
  c.display_name = f.GetString("connect_display_name");
  return c;
}

}  // namespace leafsvc::connect
