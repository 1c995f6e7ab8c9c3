// The HTML of the grower's pages (connect_pages.h): plain words, one inline
// style block (allowed by its hash in the Content-Security-Policy), no
// script, readable on a phone (growers open the link from a text message).
// Every dynamic text goes through HtmlEscape; nothing here knows HTTP.
#ifndef SERVER_CONNECT_PAGE_HTML_H_
#define SERVER_CONNECT_PAGE_HTML_H_

#include <string>

#include "absl/strings/string_view.h"
#include "server/connect/connect_link.h"
#include "server/text/html_escape.h"

namespace leafsvc::connect {

// Every dynamic text goes through leafsvc::HtmlEscape.
using ::leafsvc::HtmlEscape;

// The CSP source allowing the pages' one style block: "'sha256-<base64>'".
const std::string& PageStyleSource();

// "read readwrite" in words a grower understands, as <li> items (escaped;
// a scope this table does not know is shown by its name).
std::string ScopesInWords(absl::string_view scopes);

// A short, non-identifying form of a Leaf user id for the page ("3f2a…9c1d"):
// enough to tell the grower's accounts apart, not the whole id.
std::string ShortUserId(absl::string_view leaf_user_id);

// A whole document: `title` (text, escaped), `body_html` (already HTML),
// `head_html` (extra head elements, already HTML: the refresh meta).
std::string RenderPage(absl::string_view title, absl::string_view body_html,
                       absl::string_view head_html = {});

struct LandingView {
  std::string display_name;               // who asks
  std::string scopes;                     // AgFiniti scopes, space-separated
  std::string leaf_user_id;               // shown shortened
  std::string action_path;                // the form's POST target
  std::string csrf_token;                 // the hidden field (also in the cookie)
  LinkState state = LinkState::kPending;  // PENDING, DENIED or FAILED
};
std::string LandingPage(const LandingView& view);

// The result page after AgFiniti's redirect (and what a returning grower
// sees on /connect/{id}/done).
struct ResultView {
  std::string display_name;
  LinkState state = LinkState::kPending;
  std::string error_reason;  // a reason of server/errors/reasons.h, for FAILED
  std::string continue_url;  // empty: none; else already allowed and complete
};
std::string ResultPage(const ResultView& view);

// A page with a heading and one paragraph (both text, escaped): errors,
// "already connected", "expired", "not found", "too many requests".
std::string MessagePage(absl::string_view heading, absl::string_view text);

}  // namespace leafsvc::connect

#endif  // SERVER_CONNECT_PAGE_HTML_H_
