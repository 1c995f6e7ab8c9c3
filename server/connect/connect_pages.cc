#include "server/connect/connect_pages.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "server/connect/oauth_state.h"
#include "server/connect/page_html.h"
#include "server/connect/return_url_policy.h"
#include "server/connect/url_encoding.h"
#include "server/errors/status_details.h"

namespace leafsvc::connect {
namespace {

using httpd::HttpRequest;
using httpd::HttpResponse;
using Respond = std::function<void(HttpResponse)>;

constexpr size_t kMaxLinkIdBytes = 128;
constexpr size_t kMaxStateBytes = 1024;
constexpr size_t kMaxCodeBytes = 4096;
constexpr size_t kMaxErrorBytes = 128;
constexpr size_t kCsrfTokenBytes = 32;

// Link ids, bindings and tokens are URL-safe by construction; anything else
// is refused before it reaches the flow, a header or a page.
bool IsUrlSafeToken(absl::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' &&
        c != '~') {
      return false;
    }
  }
  return true;
}

// A fresh CSRF token; "" when OpenSSL has no random bytes (never expected).
std::string NewCsrfToken() {
  absl::StatusOr<std::string> token = RandomToken(kCsrfTokenBytes);
  return token.ok() ? *std::move(token) : std::string();
}

// Every value of cookie `name` in the request's Cookie headers.
std::vector<std::string> CookieValues(const HttpRequest& request, absl::string_view name) {
  std::vector<std::string> values;
  for (const auto& [header, value] : request.headers) {
    if (!absl::EqualsIgnoreCase(header, "Cookie")) continue;
    for (absl::string_view pair : absl::StrSplit(value, ';')) {
      pair = absl::StripAsciiWhitespace(pair);
      const size_t eq = pair.find('=');
      if (eq != absl::string_view::npos && pair.substr(0, eq) == name) {
        values.emplace_back(pair.substr(eq + 1));
      }
    }
  }
  return values;
}

// The value of `name` in an application/x-www-form-urlencoded body; only
// the URL-safe token form is accepted, so no decoding is needed. Empty when
// absent, repeated or not a token.
std::string FormToken(absl::string_view body, absl::string_view name) {
  std::string found;
  int seen = 0;
  for (absl::string_view pair : absl::StrSplit(body, '&')) {
    const size_t eq = pair.find('=');
    if (eq == absl::string_view::npos || pair.substr(0, eq) != name) continue;
    ++seen;
    found = std::string(pair.substr(eq + 1));
  }
  return seen == 1 && IsUrlSafeToken(found, 256) ? found : "";
}

// How many times query parameter `name` appears.
int QueryCount(const HttpRequest& request, absl::string_view name) {
  int n = 0;
  for (const auto& [key, value] : request.query) n += key == name ? 1 : 0;
  return n;
}

}  // namespace

httpd::HeaderList ConnectSecurityHeaders(const ConnectPagesOptions& options) {
  std::string form_action = "'self'";
  if (!options.authorize_origin.empty())
    absl::StrAppend(&form_action, " ", options.authorize_origin);
  // Cache-Control: no-store and X-Content-Type-Options: nosniff are on every
  // answer of the listener already (http_server.h).
  return {
      {"Referrer-Policy", "no-referrer"},
      {"X-Frame-Options", "DENY"},
      {"Content-Security-Policy",
       absl::StrCat("default-src 'none'; style-src ", PageStyleSource(), "; form-action ",
                    form_action, "; frame-ancestors 'none'; base-uri 'none'")},
  };
}

namespace {

// The routes' shared state: options, the flow, the limiter. Held by every
// route and every pending flow callback, so a late answer finds it alive.
class Pages : public std::enable_shared_from_this<Pages> {
 public:
  Pages(ConnectPagesOptions options, ConnectFlow* flow)
      : options_(std::move(options)), flow_(flow), limiter_(options_.rate_limits) {
    secure_ = absl::StartsWithIgnoreCase(options_.public_url, "https://");
    origin_ = UrlOrigin(options_.public_url);
    if (!origin_.empty()) base_path_ = options_.public_url.substr(origin_.size());
    while (!base_path_.empty() && base_path_.back() == '/') base_path_.pop_back();
    headers_ = ConnectSecurityHeaders(options_);
  }

  // GET /connect/{id} and GET /connect/{id}/done.
  void Get(const HttpRequest& request, Respond respond) {
    absl::string_view rest = absl::StripPrefix(request.path, "/connect/");
    const bool done = absl::ConsumeSuffix(&rest, "/done");
    const std::string id(rest);
    if (!IsUrlSafeToken(id, kMaxLinkIdBytes)) return respond(NotFound());
    if (!Admit(request, id, respond)) return;
    auto self = shared_from_this();
    std::string cookie_token = done ? "" : NewCsrfToken();
    flow_->GetLink(id, [self, respond, done, cookie_token](absl::StatusOr<ConnectLink> link) {
      if (!link.ok()) return respond(self->ForError(link.status()));
      if (done) return respond(self->Result(*link));
      respond(self->Landing(*link, cookie_token));
    });
  }

  // POST /connect/{id}: the button.
  void Post(const HttpRequest& request, Respond respond) {
    const std::string id(absl::StripPrefix(request.path, "/connect/"));
    if (!IsUrlSafeToken(id, kMaxLinkIdBytes)) return respond(NotFound());
    if (!Admit(request, id, respond)) return;
    if (!SameOrigin(request)) {
      Refused(kRefusedCrossSite);
      return respond(Page(403, MessagePage("This request was refused",
                                           "It did not come from this page. Open your link "
                                           "again and press the button there.")));
    }
    const std::string posted = FormToken(request.body, "csrf");
    bool match = false;
    for (const std::string& cookie : CookieValues(request, kCsrfCookie)) {
      match = match || (!posted.empty() && ConstantTimeEquals(cookie, posted));
    }
    if (!match) {
      Refused(kRefusedCsrf);
      return respond(Page(403, MessagePage("This page has expired",
                                           "Open your link again and press the button on the "
                                           "new page.")));
    }
    auto self = shared_from_this();
    flow_->StartAttempt(id, [self, respond](absl::StatusOr<AttemptStart> attempt) {
      if (!attempt.ok()) return respond(self->ForError(attempt.status()));
      respond(self->ToAgfiniti(*attempt));
    });
  }

  // GET /agleader/callback?code=&state= (or error=&state=).
  void Callback(const HttpRequest& request, Respond respond) {
    if (!Admit(request, "", respond)) return;
    const std::string* state = request.Query("state");
    const std::string* code = request.Query("code");
    const std::string* error = request.Query("error");
    const bool well_formed =
        state != nullptr && !state->empty() && state->size() <= kMaxStateBytes &&
        QueryCount(request, "state") == 1 && QueryCount(request, "code") <= 1 &&
        QueryCount(request, "error") <= 1 &&
        ((code != nullptr && !code->empty() && code->size() <= kMaxCodeBytes) ||
         (error != nullptr && !error->empty() && error->size() <= kMaxErrorBytes));
    if (!well_formed) {
      Refused(kRefusedBadCallback);
      return respond(Page(400, MessagePage("This sign-in answer is incomplete",
                                           "Open your link again to connect.")));
    }
    CallbackParams params;
    params.state = *state;
    if (code != nullptr) params.code = *code;
    if (error != nullptr) params.error = *error;
    const std::vector<std::string> bindings = CookieValues(request, kAttemptCookie);
    if (bindings.size() == 1) params.browser_binding = bindings[0];
    auto self = shared_from_this();
    flow_->Complete(std::move(params), [self, respond](absl::StatusOr<ConnectLink> link) {
      if (!link.ok()) return respond(self->ForCallbackError(link.status()));
      HttpResponse r = self->Page(303, "");
      r.content_type = "text/plain; charset=utf-8";
      r.headers.emplace_back("Location",
                             absl::StrCat(self->Absolute("/connect/"), link->id, "/done"));
      r.headers.emplace_back("Set-Cookie", self->Cookie(kAttemptCookie, "", "/agleader/callback",
                                                        "Lax", absl::ZeroDuration()));
      respond(std::move(r));
    });
  }

 private:
  absl::Time Now() const { return options_.clock ? options_.clock() : absl::Now(); }

  bool Admit(const HttpRequest& request, absl::string_view link_id, const Respond& respond) {
    const RateDecision decision = limiter_.Admit(request.peer_ip, link_id);
    if (decision.allowed) return true;
    HttpResponse r = Page(
        429, MessagePage("Too many tries", "Please wait a minute, then open your link again."));
    r.headers.emplace_back("Retry-After", absl::StrCat(absl::ToInt64Seconds(decision.retry_after)));
    respond(std::move(r));
    return false;
  }

  void Refused(absl::string_view reason) const {
    if (options_.on_refused) options_.on_refused(reason);
  }

  // A cross-site POST is refused whatever it carries: browsers send Origin
  // on every POST and Sec-Fetch-Site on most; either saying "not this
  // origin" is enough. "Origin: null" is what a browser sends for a form
  // posted from a page with Referrer-Policy: no-referrer (ours): it says
  // nothing either way, so it passes only with a Sec-Fetch-Site that says
  // same-origin (what such a browser sends), never alone.
  bool SameOrigin(const HttpRequest& request) const {
    const std::string* site = request.Header("Sec-Fetch-Site");
    if (site != nullptr && !absl::EqualsIgnoreCase(*site, "same-origin")) return false;
    if (const std::string* origin = request.Header("Origin")) {
      const std::string got = absl::AsciiStrToLower(*origin);
      if (got == "null") return site != nullptr;
      if (!origin_.empty()) return got == origin_;
      const std::string* host = request.Header("Host");
      return host != nullptr && (got == absl::AsciiStrToLower(absl::StrCat("http://", *host)) ||
                                 got == absl::AsciiStrToLower(absl::StrCat("https://", *host)));
    }
    return true;
  }

  std::string Absolute(absl::string_view path) const {
    return absl::StrCat(origin_, base_path_, path);
  }

  std::string Cookie(absl::string_view name, absl::string_view value, absl::string_view path,
                     absl::string_view same_site, absl::Duration life) const {
    return absl::StrCat(name, "=", value, "; Path=", base_path_, path,
                        "; Max-Age=", std::max<int64_t>(0, absl::ToInt64Seconds(life)),
                        "; HttpOnly; SameSite=", same_site, secure_ ? "; Secure" : "");
  }

  HttpResponse Page(int status, std::string html) const {
    HttpResponse r;
    r.status = status;
    r.content_type = "text/html; charset=utf-8";
    r.body = std::move(html);
    r.headers = headers_;
    return r;
  }

  HttpResponse NotFound() const {
    return Page(404, MessagePage("This link does not exist",
                                 "Check that you opened the whole link, or ask the person "
                                 "who sent it for a new one."));
  }

  HttpResponse Expired() const {
    return Page(410,
                MessagePage("This link has expired", "Ask the person who sent it for a new one."));
  }

  HttpResponse AlreadyConnected() const {
    return Page(200, MessagePage("Already connected",
                                 absl::StrCat("Your AgLeader account is already connected for ",
                                              options_.display_name,
                                              ". There is nothing more to do; you can close "
                                              "this page.")));
  }

  HttpResponse Unavailable() const {
    HttpResponse r = Page(503, MessagePage("Please try again in a few minutes",
                                           "This service is busy or could not reach AgFiniti. "
                                           "Open your link again in a few minutes."));
    r.headers.emplace_back("Retry-After", "60");
    return r;
  }

  // The flow's refusals, for the landing page, the button and the result.
  HttpResponse ForError(const absl::Status& status) const {
    const std::string reason = GetStatusDetails(status).reason;
    if (status.code() == absl::StatusCode::kNotFound) return NotFound();
    if (reason == "CONNECT_LINK_EXPIRED") return Expired();
    if (reason == "CONNECT_LINK_ALREADY_USED") return AlreadyConnected();
    if (status.code() == absl::StatusCode::kUnavailable ||
        status.code() == absl::StatusCode::kResourceExhausted ||
        status.code() == absl::StatusCode::kDeadlineExceeded) {
      return Unavailable();
    }
    return Page(500, MessagePage("Something went wrong",
                                 "Please try again later; if it keeps failing, contact the "
                                 "person who sent you the link."));
  }

  HttpResponse ForCallbackError(const absl::Status& status) const {
    if (status.code() == absl::StatusCode::kInvalidArgument ||
        status.code() == absl::StatusCode::kNotFound) {
      Refused(kRefusedStateInvalid);
      return Page(400, MessagePage("This sign-in answer cannot be used",
                                   "This sign-in answer was already used or is not valid; "
                                   "open your link again."));
    }
    return ForError(status);
  }

  HttpResponse Landing(const ConnectLink& link, const std::string& token) const {
    switch (link.StateAt(Now())) {
      case LinkState::kConnected:
        return AlreadyConnected();
      case LinkState::kExpired:
        return Expired();
      default:
        break;
    }
    if (token.empty()) return Unavailable();  // no randomness: no form
    LandingView view;
    view.display_name = options_.display_name;
    view.scopes = options_.scopes;
    view.leaf_user_id = link.leaf_user_id;
    view.action_path = absl::StrCat(base_path_, "/connect/", link.id);
    view.csrf_token = token;
    view.state = link.StateAt(Now());
    HttpResponse r = Page(200, LandingPage(view));
    r.headers.emplace_back(
        "Set-Cookie", Cookie(kCsrfCookie, token, "/connect/", "Strict", options_.csrf_cookie_life));
    return r;
  }

  HttpResponse Result(const ConnectLink& link) const {
    ResultView view;
    view.display_name = options_.display_name;
    view.state = link.StateAt(Now());
    view.error_reason = link.error_reason;
    // The return URL was allowed when the link was made; parsed again so
    // nothing but an http(s) URL can ever become a link on the page.
    if (!link.return_url.empty() && ParseReturnUrl(link.return_url).ok()) {
      view.continue_url =
          ReturnUrlPolicy::AppendResult(link.return_url, link.id, LinkStateName(view.state));
    }
    return Page(200, ResultPage(view));
  }

  HttpResponse ToAgfiniti(const AttemptStart& attempt) const {
    const bool url_ok = absl::StartsWith(attempt.authorize_url, "https://") ||
                        absl::StartsWith(attempt.authorize_url, "http://");
    if (!url_ok || attempt.authorize_url.find_first_of("\r\n") != std::string::npos ||
        !IsUrlSafeToken(attempt.browser_binding, 512)) {
      return ForError(absl::InternalError("unusable attempt"));
    }
    HttpResponse r = Page(303, "");
    r.content_type = "text/plain; charset=utf-8";
    r.headers.emplace_back("Location", attempt.authorize_url);
    r.headers.emplace_back(
        "Set-Cookie", Cookie(kAttemptCookie, attempt.browser_binding, "/agleader/callback", "Lax",
                             attempt.expire_time - Now()));
    return r;
  }

  const ConnectPagesOptions options_;
  ConnectFlow* const flow_;
  ConnectRateLimiter limiter_;
  bool secure_ = false;
  std::string origin_;     // "https://host[:port]", lower case; empty: unknown
  std::string base_path_;  // public_url's path without the trailing "/"
  httpd::HeaderList headers_;
};

}  // namespace

std::vector<httpd::Route> ConnectRoutes(ConnectPagesOptions options, ConnectFlow* flow) {
  const size_t form_cap = options.max_form_bytes;
  auto pages = std::make_shared<Pages>(std::move(options), flow);
  std::vector<httpd::Route> routes(3);
  routes[0].method = "GET";
  routes[0].path = "/connect/*";
  routes[0].async_handler = [pages](const HttpRequest& r, Respond done) { pages->Get(r, done); };
  routes[1].method = "POST";
  routes[1].path = "/connect/*";
  routes[1].max_body_bytes = form_cap;
  routes[1].async_handler = [pages](const HttpRequest& r, Respond done) { pages->Post(r, done); };
  routes[2].method = "GET";
  routes[2].path = "/agleader/callback";
  routes[2].async_handler = [pages](const HttpRequest& r, Respond done) {
    pages->Callback(r, done);
  };
  return routes;
}

}  // namespace leafsvc::connect
