#include "server/fleet/redis_url.h"

#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace leafsvc::fleet {
namespace {

constexpr absl::string_view kScheme = "redis://";
// Redis's own default for `databases`; larger indexes are legal with a
// larger setting, so only an absurd one is refused here.
constexpr std::int64_t kMaxDb = 1 << 20;

absl::Status Bad(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid Redis URL: ", what, " (expected redis://[:password@]host[:port][/db])"));
}

// Strict decimal: digits only (SimpleAtoi would accept "+1" or " 1").
bool ParseDecimal(absl::string_view s, std::int64_t max, std::int64_t* out) {
  if (s.empty() || s.size() > 10) return false;
  std::int64_t v = 0;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + (c - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

bool ValidHostChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

}  // namespace

absl::StatusOr<RedisUrl> ParseRedisUrl(absl::string_view url) {
  if (url.empty()) return Bad("it is empty");
  if (absl::StartsWithIgnoreCase(url, "rediss://")) {
    return Bad("rediss:// (TLS) is not supported; put Redis on a private network");
  }
  if (absl::StartsWithIgnoreCase(url, "unix:") || absl::StartsWithIgnoreCase(url, "redis+unix:")) {
    return Bad("Unix sockets are not supported");
  }
  if (!absl::StartsWithIgnoreCase(url, kScheme)) {
    return Bad("it does not start with redis://");
  }
  absl::string_view rest = url.substr(kScheme.size());

  RedisUrl out;
  // The last '@' ends the user info: a password may itself hold '@' or '/',
  // a host or db never does.
  const size_t at = rest.rfind('@');
  if (at != absl::string_view::npos) {
    absl::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (userinfo.empty() || userinfo[0] != ':') {
      return Bad("user names are not supported (write redis://:password@host)");
    }
    userinfo.remove_prefix(1);
    if (userinfo.empty()) return Bad("the password after ':' is empty");
    out.password = Secret(userinfo);
  }

  absl::string_view hostport = rest;
  absl::string_view path;
  const size_t slash = rest.find('/');
  if (slash != absl::string_view::npos) {
    hostport = rest.substr(0, slash);
    path = rest.substr(slash + 1);
  }
  if (hostport.find_first_of("?#") != absl::string_view::npos ||
      path.find_first_of("?#") != absl::string_view::npos) {
    return Bad("query strings and fragments are not supported");
  }

  absl::string_view host = hostport;
  absl::string_view port;
  bool has_port = false;
  if (!hostport.empty() && hostport[0] == '[') {
    const size_t close = hostport.find(']');
    if (close == absl::string_view::npos) return Bad("an IPv6 host lacks its ']'");
    host = hostport.substr(1, close - 1);
    absl::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return Bad("unexpected characters after the IPv6 host");
      port = after.substr(1);
      has_port = true;
    }
    if (host.empty()) return Bad("the host is empty");
    for (char c : host) {
      if (!absl::ascii_isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
        return Bad("the IPv6 host has an invalid character");
      }
    }
  } else {
    const size_t colon = hostport.find(':');
    if (colon != absl::string_view::npos) {
      host = hostport.substr(0, colon);
      port = hostport.substr(colon + 1);
      has_port = true;
    }
    if (host.empty()) return Bad("the host is empty");
    if (host.size() > 253) return Bad("the host is longer than 253 characters");
    for (char c : host) {
      if (!ValidHostChar(c)) return Bad("the host has an invalid character");
    }
  }
  out.host = std::string(host);

  if (has_port) {
    std::int64_t p = 0;
    if (!ParseDecimal(port, 65535, &p) || p == 0) {
      return Bad("the port is not a number in 1..65535");
    }
    out.port = static_cast<int>(p);
  }

  if (!path.empty()) {
    std::int64_t db = 0;
    if (!ParseDecimal(path, kMaxDb, &db)) {
      return Bad("the database (after '/') is not a number in 0..1048576");
    }
    out.db = static_cast<int>(db);
  }
  return out;
}

}  // namespace leafsvc::fleet
