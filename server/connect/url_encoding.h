// Percent-encoding for the URLs and form bodies the connect flow writes
// (AgFiniti's authorize URL, the code exchange's form, the return URL's
// result parameters). RFC 3986 §2.3: only unreserved characters stay as
// they are, so a space is %20 (never "+", which AgFiniti might not read as
// a space in a query) and "&", "=", "#", "%" can never break out of a value.
#ifndef SERVER_CONNECT_URL_ENCODING_H_
#define SERVER_CONNECT_URL_ENCODING_H_

#include <string>

#include "absl/strings/string_view.h"

namespace leafsvc::connect {

// Every byte but ALPHA / DIGIT / "-" / "." / "_" / "~" as %XX (upper case).
std::string PercentEncode(absl::string_view value);

// Appends PercentEncode(value) to `out` without a temporary copy, for
// values that are secrets (the code, the verifier): the caller owns and
// wipes `out`.
void AppendPercentEncoded(absl::string_view value, std::string& out);

// "scheme://host[:port]" of an absolute URL, lower case ("" when `url` has
// no "://"): what a browser sends as Origin, and a CSP source.
std::string UrlOrigin(absl::string_view url);

}  // namespace leafsvc::connect

#endif  // SERVER_CONNECT_URL_ENCODING_H_
