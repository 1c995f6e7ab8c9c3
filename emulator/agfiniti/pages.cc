#include "emulator/agfiniti/pages.h"

#include "absl/strings/str_cat.h"
#include "emulator/agfiniti/form.h"

namespace leafemu {
namespace agfiniti {
namespace {

// What a scope lets the application do, in the grower's words.
std::string ScopeText(const std::string& scope) {
  if (scope == "read") return "read your farm data";
  if (scope == "readwrite") return "read and change your farm data";
  if (scope == "fileupload") return "upload files (e.g. prescriptions) to your account";
  return scope;
}

std::string Document(const std::string& title, const std::string& body) {
  return absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>",
      HtmlEscape(title),
      " - AgFiniti</title><style>body{font-family:sans-serif;max-width:28em;margin:2em auto;"
      "padding:0 1em}label,input,button{display:block;margin:.4em 0}"
      "#error{color:#a00}</style></head><body><h1>",
      HtmlEscape(title), "</h1>\n", body, "</body></html>\n");
}

}  // namespace

std::string SignInPage(const std::string& request_id, const std::string& app_name,
                       const std::string& error) {
  std::string body = absl::StrCat("<p>Sign in to AgFiniti to continue to <strong>",
                                  HtmlEscape(app_name), "</strong>.</p>\n");
  if (!error.empty()) {
    absl::StrAppend(&body, "<p id=\"error\" role=\"alert\">", HtmlEscape(error), "</p>\n");
  }
  absl::StrAppend(&body, "<form method=\"post\" action=\"", kSignInPath, "\">",
                  "<input type=\"hidden\" name=\"request_id\" value=\"", HtmlEscape(request_id),
                  "\"><label for=\"username\">Username</label>"
                  "<input id=\"username\" name=\"username\" autocomplete=\"username\" required>"
                  "<label for=\"password\">Password</label>"
                  "<input id=\"password\" name=\"password\" type=\"password\" "
                  "autocomplete=\"current-password\" required>"
                  "<button id=\"sign-in\" type=\"submit\">Sign in</button></form>\n");
  return Document("Sign in", body);
}

std::string ConsentPage(const std::string& consent_id, const std::string& app_name,
                        const std::string& grower, const std::vector<std::string>& scopes) {
  std::string body =
      absl::StrCat("<p><strong id=\"app-name\">", HtmlEscape(app_name),
                   "</strong> asks for access to your AgFiniti account <strong>",
                   HtmlEscape(grower), "</strong>. It will be able to:</p>\n<ul id=\"scopes\">");
  for (const std::string& scope : scopes) {
    absl::StrAppend(&body, "<li data-scope=\"", HtmlEscape(scope), "\">",
                    HtmlEscape(ScopeText(scope)), "</li>");
  }
  absl::StrAppend(&body, "</ul>\n<form method=\"post\" action=\"", kConsentPath, "\">",
                  "<input type=\"hidden\" name=\"request_id\" value=\"", HtmlEscape(consent_id),
                  "\"><button id=\"allow\" type=\"submit\" name=\"decision\" value=\"allow\">"
                  "Allow</button><button id=\"deny\" type=\"submit\" name=\"decision\" "
                  "value=\"deny\">Deny</button></form>\n");
  return Document("Authorize application", body);
}

std::string ErrorPage(const std::string& title, const std::string& message) {
  return Document(title,
                  absl::StrCat("<p id=\"error\" role=\"alert\">", HtmlEscape(message), "</p>\n"));
}

void SendPage(httplib::Response& res, int status, const std::string& html) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_header("Pragma", "no-cache");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("X-Content-Type-Options", "nosniff");
  // No form-action: Chromium applies it to the redirect after a POST, and
  // consent redirects to the client's own origin.
  res.set_header("Content-Security-Policy",
                 "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
  res.set_content(html, "text/html; charset=utf-8");
}

}  // namespace agfiniti
}  // namespace leafemu
