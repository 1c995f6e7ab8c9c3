#include "server/connect/return_url_policy.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "server/connect/url_encoding.h"
#include "server/errors/reasons.h"

namespace leafsvc::connect {
namespace {

absl::Status Bad(absl::string_view why) { return absl::InvalidArgumentError(why); }

bool HostChar(char c) { return absl::ascii_isalnum(c) || c == '-' || c == '.'; }

bool Ipv6Char(char c) { return absl::ascii_isxdigit(c) || c == ':' || c == '.'; }

bool Loopback(absl::string_view host) {
  return host == "localhost" || host == "127.0.0.1" || host == "[::1]";
}

// Dot segments and encoded separators would let a path that starts with an
// allowed prefix resolve, in the browser or the application's router,
// outside it ("/app/../admin", "/app/%2e%2e/admin", "/app%2fx").
absl::Status CheckPath(absl::string_view path) {
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    if (segment == "." || segment == "..") return Bad("the path has a dot segment");
  }
  const std::string lower = absl::AsciiStrToLower(path);
  for (absl::string_view encoded : {"%2e", "%2f", "%5c", "%00"}) {
    if (absl::StrContains(lower, encoded)) {
      return Bad("the path has an encoded dot, slash, backslash or NUL");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ParsedUrl> ParseReturnUrl(absl::string_view url) {
  if (url.empty()) return Bad("the URL is empty");
  if (url.size() > kMaxReturnUrlBytes) return Bad("the URL is longer than 2048 bytes");
  for (char c : url) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return Bad("the URL has a space, control character or non-ASCII byte");
    }
    if (c == '\\') return Bad("the URL has a backslash");
    if (c == '#') return Bad("the URL has a fragment");
  }
  ParsedUrl out;
  const size_t colon = url.find("://");
  if (colon == absl::string_view::npos) return Bad("the URL is not absolute");
  out.scheme = absl::AsciiStrToLower(url.substr(0, colon));
  if (out.scheme != "https" && out.scheme != "http") return Bad("the URL is not https");
  absl::string_view rest = url.substr(colon + 3);
  const size_t authority_end = rest.find_first_of("/?");
  absl::string_view authority = rest.substr(0, authority_end);
  rest =
      authority_end == absl::string_view::npos ? absl::string_view() : rest.substr(authority_end);
  if (absl::StrContains(authority, '@')) return Bad("the URL has userinfo");
  if (authority.empty()) return Bad("the URL has no host");

  absl::string_view host;
  absl::string_view port;
  if (authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) return Bad("the URL's IPv6 host is not closed");
    host = authority.substr(0, close + 1);
    for (char c : host.substr(1, host.size() - 2)) {
      if (!Ipv6Char(c)) return Bad("the URL's IPv6 host is malformed");
    }
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Bad("the URL's host is malformed");
      port = after.substr(1);
      if (port.empty()) return Bad("the URL's port is empty");
    }
  } else {
    const size_t c = authority.find(':');
    host = authority.substr(0, c);
    if (c != absl::string_view::npos) {
      port = authority.substr(c + 1);
      if (port.empty()) return Bad("the URL's port is empty");
    }
    for (char ch : host) {
      if (!HostChar(ch)) return Bad("the URL's host has a character hosts do not have");
    }
  }
  if (host.empty() || host == "[]") return Bad("the URL has no host");
  out.host = absl::AsciiStrToLower(host);
  // A trailing dot names the same host ("a.example." is "a.example") but
  // would not compare equal: refuse it rather than guess.
  if (out.host.back() == '.') return Bad("the URL's host ends with a dot");

  out.port = out.scheme == "https" ? 443 : 80;
  if (!port.empty()) {
    for (char ch : port) {
      if (!absl::ascii_isdigit(ch)) return Bad("the URL's port is not a number");
    }
    int p = 0;
    if (port.size() > 5 || !absl::SimpleAtoi(port, &p) || p < 1 || p > 65535) {
      return Bad("the URL's port is out of range");
    }
    out.port = p;
  }
  if (out.scheme == "http" && !Loopback(out.host)) {
    return Bad("the URL is not https (http only for localhost)");
  }

  const size_t q = rest.find('?');
  out.path = std::string(rest.substr(0, q));
  if (q != absl::string_view::npos) {
    out.has_query = true;
    out.query = std::string(rest.substr(q + 1));
  }
  if (out.path.empty()) out.path = "/";
  if (absl::Status s = CheckPath(out.path); !s.ok()) return s;
  return out;
}

absl::Status ReturnUrlPolicy::CheckPrefixes(const std::vector<std::string>& prefixes) {
  for (const std::string& p : prefixes) {
    absl::StatusOr<ParsedUrl> parsed = ParseReturnUrl(p);
    if (!parsed.ok()) {
      return Bad("--connect_return_url_allow: a prefix is not a valid return URL: " +
                 std::string(parsed.status().message()));
    }
    if (parsed->has_query) return Bad("--connect_return_url_allow: a prefix has a query");
  }
  return absl::OkStatus();
}

ReturnUrlPolicy::ReturnUrlPolicy(const std::vector<std::string>& allowed_prefixes) {
  for (const std::string& p : allowed_prefixes) {
    absl::StatusOr<ParsedUrl> parsed = ParseReturnUrl(p);
    if (parsed.ok() && !parsed->has_query) allowed_.push_back(*std::move(parsed));
  }
}

namespace {

bool PathUnder(absl::string_view path, absl::string_view prefix) {
  if (prefix.back() == '/') return absl::StartsWith(path, prefix);
  return path == prefix || absl::StartsWith(path, std::string(prefix) + "/");
}

absl::Status NotAllowed(absl::string_view why) {
  StatusDetails details;
  details.field_violations.push_back(
      {"return_url", std::string(why) + "; return_url must be an https:// URL under one of "
                                        "--connect_return_url_allow"});
  return MakeError(reasons::kConnectReturnUrlNotAllowed, {}, std::move(details));
}

}  // namespace

absl::Status ReturnUrlPolicy::Check(absl::string_view url) const {
  absl::StatusOr<ParsedUrl> parsed = ParseReturnUrl(url);
  if (!parsed.ok()) return NotAllowed(parsed.status().message());
  for (const ParsedUrl& a : allowed_) {
    if (a.scheme == parsed->scheme && a.host == parsed->host && a.port == parsed->port &&
        PathUnder(parsed->path, a.path)) {
      return absl::OkStatus();
    }
  }
  if (allowed_.empty()) return NotAllowed("this server allows no return URL");
  return NotAllowed("the URL is not under an allowed prefix");
}

std::string ReturnUrlPolicy::AppendResult(absl::string_view url, absl::string_view link_id,
                                          absl::string_view state) {
  const size_t q = url.find('?');
  std::string out(url.substr(0, q));
  std::string query;
  if (q != absl::string_view::npos) {
    for (absl::string_view param : absl::StrSplit(url.substr(q + 1), '&', absl::SkipEmpty())) {
      absl::string_view name = param.substr(0, param.find('='));
      if (name == "connect_link" || name == "state") continue;
      query.append(param.data(), param.size());
      query.push_back('&');
    }
  }
  query += "connect_link=" + PercentEncode(link_id) + "&state=" + PercentEncode(state);
  out.push_back('?');
  out += query;
  return out;
}

}  // namespace leafsvc::connect
