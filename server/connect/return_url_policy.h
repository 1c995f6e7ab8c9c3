// Where a connect link may send the grower back (CreateConnectLink's
// return_url): only to URLs under one of --connect_return_url_allow, so a
// link cannot be made into an open redirect. Both the URL and each allowed
// prefix are parsed, and scheme, host and port are compared as parsed
// values, exactly; the path must continue the prefix's path at a "/"
// boundary ("https://a.example/app" allows "https://a.example/app/x" and
// "https://a.example/app?x=1", never "https://a.example/application" nor
// "https://a.example.evil.com").
#ifndef SERVER_CONNECT_RETURN_URL_POLICY_H_
#define SERVER_CONNECT_RETURN_URL_POLICY_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace leafsvc::connect {

// Longest return_url accepted (browsers and proxies cut longer ones).
inline constexpr size_t kMaxReturnUrlBytes = 2048;

// A URL split the way the policy compares it.
struct ParsedUrl {
  std::string scheme;  // "https" or "http", lower case
  std::string host;    // lower case; an IPv6 address keeps its brackets
  int port = 0;        // the scheme's default when absent
  std::string path;    // "/" when absent
  std::string query;   // after "?", without it; empty when absent
  bool has_query = false;
};

// Parses an absolute http(s) URL strictly: no userinfo, no fragment, no
// backslash, no control character, space or non-ASCII byte, no dot segment
// or encoded dot, slash or backslash in the path, a host of letters,
// digits, "-" and "." (or a bracketed IPv6 literal), a numeric port; "http"
// only for localhost, 127.0.0.1 and [::1]. INVALID_ARGUMENT with what is
// wrong (never quoting the URL).
absl::StatusOr<ParsedUrl> ParseReturnUrl(absl::string_view url);

class ReturnUrlPolicy {
 public:
  // INVALID_ARGUMENT when a prefix is not a URL ParseReturnUrl accepts or
  // has a query: for the flag's check at start-up.
  static absl::Status CheckPrefixes(const std::vector<std::string>& prefixes);

  // Prefixes that do not parse are ignored (they allow nothing).
  explicit ReturnUrlPolicy(const std::vector<std::string>& allowed_prefixes);

  // OK when `url` may be a return URL; otherwise INVALID_ARGUMENT, reason
  // CONNECT_RETURN_URL_NOT_ALLOWED, with a BadRequest violation on
  // `return_url`.
  absl::Status Check(absl::string_view url) const;

  // `url` (already allowed by Check) with `connect_link=<link_id>` and
  // `state=<state>` as query parameters, percent-encoded, after the query it
  // has (whose own connect_link and state parameters are dropped, so the
  // application reads one value of each).
  static std::string AppendResult(absl::string_view url, absl::string_view link_id,
                                  absl::string_view state);

 private:
  std::vector<ParsedUrl> allowed_;
};

}  // namespace leafsvc::connect

#endif  // SERVER_CONNECT_RETURN_URL_POLICY_H_
