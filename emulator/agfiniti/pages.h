// AgFiniti's HTML pages as the emulator serves them: sign-in, consent and
// error. Plain forms (no JavaScript, no external resources) with stable
// element ids for browser tests: `username`, `password`, `sign-in`, `allow`,
// `deny`, `error`. Everything echoed is HTML-escaped.
#ifndef EMULATOR_AGFINITI_PAGES_H_
#define EMULATOR_AGFINITI_PAGES_H_

#include <httplib.h>

#include <string>
#include <vector>

namespace leafemu {
namespace agfiniti {

inline constexpr char kSignInPath[] = "/agfiniti/Account/SignIn";
inline constexpr char kConsentPath[] = "/agfiniti/Account/Consent";

// The sign-in form for authorize request `request_id`; `error` (if not
// empty) is shown above it.
std::string SignInPage(const std::string& request_id, const std::string& app_name,
                       const std::string& error);
// The consent page: `app_name` asks `grower` for `scopes`; Allow or Deny.
std::string ConsentPage(const std::string& consent_id, const std::string& app_name,
                        const std::string& grower, const std::vector<std::string>& scopes);
// An error shown to the grower instead of a redirect.
std::string ErrorPage(const std::string& title, const std::string& message);

// Answers `status` with `html` and headers that keep the page out of caches,
// frames and referrers.
void SendPage(httplib::Response& res, int status, const std::string& html);

}  // namespace agfiniti
}  // namespace leafemu

#endif  // EMULATOR_AGFINITI_PAGES_H_
