// Redaction of Leaf's credential event logs (the `headers` and `body` Leaf
// recorded of its exchanges with AgLeader) for the default view. The service
// does not know the user's stored secrets when it lists events, so it removes
// what carries them by shape:
//  - JSON (valid, at most kMaxEventJsonDepth deep): every value under a
//    secret-named key, at any depth, becomes "[redacted]" (strings and
//    numbers; objects and arrays keep their structure with their scalars
//    redacted); other strings get the text rules below; the output is valid
//    JSON (compact).
//  - Text (anything else, and every JSON string): `key: value` (header, to
//    the end of the line), `key=value` (form or query, to the next & ; , or
//    space) and `"key": "value"` with a secret-named key; the credential
//    after "Bearer " or "Basic "; JWT-shaped strings; opaque token-like runs
//    (24+ characters of [A-Za-z0-9+/=_~.-] mixing upper case, lower case and
//    digits); and the process's registered secrets (server/secrets/redact.h).
// A key is secret-named when, lower-cased and stripped of '_', '-' and '.',
// it is one of authorization, cookie, pwd, key, session, sessionid, assertion
// or ends with token, secret, password, passwd, apikey, privatekey,
// authorization, cookie, credential(s) or signature (so access_token,
// refreshToken, id_token, X-Api-Key, Set-Cookie, client_secret, private_key).
#ifndef SERVER_SECRETS_REDACT_EVENTS_H_
#define SERVER_SECRETS_REDACT_EVENTS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace leafsvc {

inline constexpr int kMaxEventJsonDepth = 64;

// Whether a JSON key, header name or form field name names a secret.
bool IsSecretKeyName(absl::string_view key);

// A Leaf event's headers or body with every secret it carries replaced.
std::string RedactEventText(absl::string_view text);

}  // namespace leafsvc

#endif  // SERVER_SECRETS_REDACT_EVENTS_H_
