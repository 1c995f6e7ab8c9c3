// AgFiniti's authorization endpoint and its pages (RFC 6749 §4.1.1,
// §4.1.2, §4.1.2.1): GET /agfiniti/Account/Authorize checks the request and
// shows the sign-in page; POST .../SignIn checks the grower's password and
// shows the consent page; POST .../Consent redirects back to the client with
// a code or access_denied. Requests that cannot be trusted to redirect
// (unknown client, unregistered redirect URI) get an error page instead.
#ifndef EMULATOR_AGFINITI_AUTHORIZE_FLOW_H_
#define EMULATOR_AGFINITI_AUTHORIZE_FLOW_H_

#include <httplib.h>

#include "emulator/agfiniti/oauth_store.h"

namespace leafemu {
namespace agfiniti {

// Form posts larger than this are refused (413).
inline constexpr size_t kMaxFormBytes = 16 * 1024;

void ServeAuthorize(AgFinitiStore& store, const httplib::Request& req, httplib::Response& res);
void ServeSignIn(AgFinitiStore& store, const httplib::Request& req, httplib::Response& res);
void ServeConsent(AgFinitiStore& store, const httplib::Request& req, httplib::Response& res);

}  // namespace agfiniti
}  // namespace leafemu

#endif  // EMULATOR_AGFINITI_AUTHORIZE_FLOW_H_
