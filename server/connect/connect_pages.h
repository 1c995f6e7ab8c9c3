// The grower's pages of a connect link, as routes of the hardened HTTP
// listener (server/httpd/http_server.h), all async (the flow waits on Redis,
// AgFiniti and Leaf):
//   GET  /connect/{id}         the landing page: who asks, for what, a button;
//   POST /connect/{id}         the button (CSRF double-submit, same-origin
//                              only) → 303 to AgFiniti's consent page, with
//                              the attempt's browser binding as a cookie;
//   GET  /agleader/callback    AgFiniti's redirect → the flow completes it →
//                              303 to the result page (the code leaves the
//                              URL bar and the history at once);
//   GET  /connect/{id}/done    the result in plain words, and the way back
//                              to the link's return URL when it has one.
// Every answer carries no-store, no-referrer, a strict CSP without script,
// DENY framing and nosniff; every route is rate-limited by source, and the
// link's by link too. Query values and the code are never echoed.
#ifndef SERVER_CONNECT_CONNECT_PAGES_H_
#define SERVER_CONNECT_CONNECT_PAGES_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/connect/connect_flow.h"
#include "server/connect/connect_rate_limit.h"
#include "server/httpd/http_server.h"

namespace leafsvc::connect {

// Cookie names (tests and docs).
inline constexpr char kCsrfCookie[] = "connect_csrf";
inline constexpr char kAttemptCookie[] = "connect_attempt";

// Refusals reported to ConnectPagesOptions::on_refused (besides the rate
// limiter's own, reported through rate_limits.on_refused).
inline constexpr char kRefusedCsrf[] = "csrf";                   // token missing or wrong
inline constexpr char kRefusedCrossSite[] = "cross_site";        // Origin / Sec-Fetch-Site
inline constexpr char kRefusedBadCallback[] = "bad_callback";    // parameters missing
inline constexpr char kRefusedStateInvalid[] = "state_invalid";  // the flow said so

struct ConnectPagesOptions {
  // Who asks, in the grower's words ("Acme Farm Services").
  std::string display_name;
  // Where growers reach the service (--connect_public_url), e.g.
  // "https://connect.example.com": its origin is the only one allowed to
  // post the form, its scheme decides the cookies' Secure, its path (if
  // any) prefixes the pages' paths in links and cookies.
  std::string public_url;
  // AgFiniti's authorize origin ("https://www.agfiniti.com"), allowed as a
  // form-action target (browsers apply form-action to the POST's redirect).
  std::string authorize_origin;
  // AgFiniti scopes asked for (--agfiniti_scopes), described in words.
  std::string scopes = "read readwrite";
  // The form's body cap (it carries one token).
  size_t max_form_bytes = 1024;
  // How long the CSRF cookie lives (the landing page's form stays usable).
  absl::Duration csrf_cookie_life = absl::Hours(1);
  ConnectRateLimitOptions rate_limits;
  std::function<absl::Time()> clock;  // absl::Now when unset
  std::function<void(absl::string_view reason)> on_refused;
};

// The security headers of every page (also for the listener's
// extra_headers, so its own 404/405/413/503 carry them too).
httpd::HeaderList ConnectSecurityHeaders(const ConnectPagesOptions& options);

// The four routes above. `flow` must outlive the listener; the routes keep
// what else they need (answers arriving after the listener stopped are
// dropped by it).
std::vector<httpd::Route> ConnectRoutes(ConnectPagesOptions options, ConnectFlow* flow);

}  // namespace leafsvc::connect

#endif  // SERVER_CONNECT_CONNECT_PAGES_H_
