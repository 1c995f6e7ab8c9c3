// The web encodings AgFiniti's pages and token endpoint speak: strict
// application/x-www-form-urlencoded parsing, HTTP Basic client credentials,
// query building for redirects and HTML escaping for the pages. Hostile
// input is refused (nullopt), never half-parsed.
#ifndef EMULATOR_AGFINITI_FORM_H_
#define EMULATOR_AGFINITI_FORM_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/text/html_escape.h"

namespace leafemu {
namespace agfiniti {

// Decodes one form component: '+' is a space, %XX a byte; nullopt on a
// broken escape or a decoded NUL.
std::optional<std::string> FormDecode(absl::string_view in);
// Percent-encodes everything but RFC 3986's unreserved characters.
std::string FormEncode(absl::string_view in);

// `name=value&...` into a map. nullopt when a component does not decode, or
// a name repeats (RFC 6749 §3.1, §3.2: parameters MUST NOT repeat), or
// there are more than `max_fields` of them. Empty pieces ("a=1&&b=2") are
// skipped; a name without '=' has the value "".
std::optional<std::map<std::string, std::string>> ParseForm(absl::string_view body,
                                                            size_t max_fields = 64);

// The client id and secret of an `Authorization: Basic ...` header value
// (RFC 6749 §2.3.1: each form-encoded before base64; a plain value decodes to
// itself). nullopt when it is not well-formed Basic.
std::optional<std::pair<std::string, std::string>> ParseBasicAuth(absl::string_view header);

// `uri` with `params` appended to its query (RFC 6749 §4.1.2: keeping the
// query it has). `uri` has no fragment (registration refuses one).
std::string AppendQuery(const std::string& uri,
                        const std::vector<std::pair<std::string, std::string>>& params);

// Text made safe for HTML: the service's own escaping (server/text).
using ::leafsvc::HtmlEscape;

}  // namespace agfiniti
}  // namespace leafemu

#endif  // EMULATOR_AGFINITI_FORM_H_
