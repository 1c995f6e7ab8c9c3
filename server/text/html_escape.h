// Text made safe for HTML: the one escaping of every page the service serves
// (the grower's connect pages) and of the emulator's AgFiniti pages.
#ifndef SERVER_TEXT_HTML_ESCAPE_H_
#define SERVER_TEXT_HTML_ESCAPE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace leafsvc {

// &, <, >, " and ' as character references: safe in element content and in
// quoted attribute values (either quote).
std::string HtmlEscape(absl::string_view text);

}  // namespace leafsvc

#endif  // SERVER_TEXT_HTML_ESCAPE_H_
