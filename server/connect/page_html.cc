#include "server/connect/page_html.h"

#include <openssl/sha.h>

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace leafsvc::connect {
namespace {

// The one style block of every page. Its SHA-256 is in the CSP, so a byte
// changed here changes the hash computed at start, never out of step.
constexpr absl::string_view kStyle =
    "body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "font-size:18px;line-height:1.5;color:#1c2321;background:#f4f6f3}"
    "main{max-width:34rem;margin:0 auto;padding:1.5rem 1.25rem}"
    "h1{font-size:1.5rem;line-height:1.25;margin:.5rem 0 1rem}"
    "ul{padding-left:1.25rem}"
    ".card{background:#fff;border-radius:12px;padding:1.25rem;"
    "box-shadow:0 1px 3px rgba(0,0,0,.12)}"
    ".note{color:#4a5450;font-size:.95rem}"
    "button,.button{display:block;width:100%;box-sizing:border-box;margin-top:1.25rem;"
    "padding:.9rem 1rem;font-size:1.1rem;font-weight:600;text-align:center;"
    "text-decoration:none;color:#fff;background:#2e7d32;border:0;border-radius:8px;"
    "cursor:pointer}"
    "button:focus,.button:focus{outline:3px solid #f9a825;outline-offset:2px}";

struct ScopeWords {
  absl::string_view scope;
  absl::string_view words;
};
constexpr ScopeWords kScopes[] = {
    {"read", "see your AgFiniti account and the machine files in it"},
    {"readwrite", "add and update files in your AgFiniti account"},
};

}  // namespace

const std::string& PageStyleSource() {
  static const std::string* source = [] {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(kStyle.data()), kStyle.size(), digest);
    return new std::string(absl::StrCat(
        "'sha256-",
        absl::Base64Escape(absl::string_view(reinterpret_cast<const char*>(digest), sizeof digest)),
        "'"));
  }();
  return *source;
}

std::string ScopesInWords(absl::string_view scopes) {
  std::string out;
  for (absl::string_view scope : absl::StrSplit(scopes, ' ', absl::SkipEmpty())) {
    absl::string_view words;
    for (const ScopeWords& known : kScopes) {
      if (known.scope == scope) words = known.words;
    }
    if (words.empty()) {
      absl::StrAppend(&out, "<li>the AgFiniti permission \"", HtmlEscape(scope), "\"</li>");
    } else {
      absl::StrAppend(&out, "<li>", words, "</li>");
    }
  }
  return out;
}

std::string ShortUserId(absl::string_view leaf_user_id) {
  if (leaf_user_id.size() <= 8) return std::string(leaf_user_id.size(), '*');
  return absl::StrCat(leaf_user_id.substr(0, 4), "\xE2\x80\xA6",
                      leaf_user_id.substr(leaf_user_id.size() - 4));
}

std::string RenderPage(absl::string_view title, absl::string_view body_html,
                       absl::string_view head_html) {
  return absl::StrCat(
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<meta name=\"robots\" content=\"noindex\">",
      head_html, "<title>", HtmlEscape(title), "</title><style>", kStyle,
      "</style></head><body><main>", body_html, "</main></body></html>\n");
}

std::string LandingPage(const LandingView& view) {
  const std::string who = HtmlEscape(view.display_name);
  std::string before;
  if (view.state == LinkState::kDenied) {
    before = "<p class=\"note\">Last time, access was declined. You can try again below.</p>";
  } else if (view.state == LinkState::kFailed) {
    before = "<p class=\"note\">The last try did not finish. You can try again below.</p>";
  }
  const std::string body = absl::StrCat(
      "<div class=\"card\"><h1>Connect your AgLeader account</h1>", before, "<p><strong>", who,
      "</strong> asks for access to your AgLeader AgFiniti account, so that Leaf can sync your "
      "machine files for them.</p><p>With this access they can:</p><ul>",
      ScopesInWords(view.scopes), "</ul><p class=\"note\">For the Leaf account ",
      HtmlEscape(ShortUserId(view.leaf_user_id)),
      ". You will sign in on AgFiniti's own page; your AgFiniti password is never shared. You can "
      "take the access back in AgFiniti at any time.</p>"
      "<form method=\"post\" action=\"",
      HtmlEscape(view.action_path), "\"><input type=\"hidden\" name=\"csrf\" value=\"",
      HtmlEscape(view.csrf_token),
      "\"><button id=\"connect\" type=\"submit\">Continue to AgFiniti</button></form></div>");
  return RenderPage(absl::StrCat("Connect AgLeader for ", view.display_name), body);
}

std::string ResultPage(const ResultView& view) {
  std::string heading;
  std::string text;
  switch (view.state) {
    case LinkState::kConnected:
      heading = "You are connected";
      text = absl::StrCat("Your AgLeader account is now connected for ", view.display_name,
                          ". You can close this page.");
      break;
    case LinkState::kDenied:
      heading = "You declined";
      text = "Nothing was shared. If you change your mind, open the link again to connect.";
      break;
    case LinkState::kExpired:
      heading = "This link has expired";
      text = "Ask the person who sent it for a new one.";
      break;
    case LinkState::kPending:
      heading = "Not connected yet";
      text = "The connection was not finished. Open the link again to connect.";
      break;
    case LinkState::kFailed:
      heading = "The connection did not work";
      if (view.error_reason == "AGFINITI_UNAVAILABLE") {
        text =
            "AgFiniti could not be reached. Please wait a few minutes, then open the link "
            "again.";
      } else if (view.error_reason == "AGFINITI_CODE_REJECTED") {
        text = "The sign-in took too long or was already used. Open the link again to connect.";
      } else if (view.error_reason == "AGFINITI_CLIENT_REJECTED" ||
                 view.error_reason == "AGFINITI_AUTHORIZATION_FAILED" ||
                 view.error_reason == "AGFINITI_REQUEST_REJECTED") {
        text =
            "This connection is not set up correctly on their side. Please tell the person "
            "who sent you the link; trying again will not help until they fix it.";
      } else {
        text =
            "Something went wrong. Please try the link again later; if it keeps failing, "
            "contact the person who sent you the link.";
      }
      break;
  }
  std::string body = absl::StrCat("<div class=\"card\"><h1>", HtmlEscape(heading), "</h1><p>",
                                  HtmlEscape(text), "</p>");
  std::string head;
  if (!view.continue_url.empty()) {
    const std::string url = HtmlEscape(view.continue_url);
    absl::StrAppend(&body, "<a class=\"button\" href=\"", url, "\">Continue</a>");
    head = absl::StrCat("<meta http-equiv=\"refresh\" content=\"2;url=", url, "\">");
  }
  body += "</div>";
  return RenderPage(heading, body, head);
}

std::string MessagePage(absl::string_view heading, absl::string_view text) {
  return RenderPage(heading, absl::StrCat("<div class=\"card\"><h1>", HtmlEscape(heading),
                                          "</h1><p>", HtmlEscape(text), "</p></div>"));
}

}  // namespace leafsvc::connect
