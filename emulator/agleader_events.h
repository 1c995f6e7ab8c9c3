// The events Leaf records when it talks to AgLeader on a user's behalf: what
// AgLeader's OAuth token endpoint answered. Served by
// GET .../ag-leader-credentials/events.
#ifndef EMULATOR_AGLEADER_EVENTS_H_
#define EMULATOR_AGLEADER_EVENTS_H_

#include <string>

#include "emulator/types.h"

namespace leafemu {

// An event with a fresh id and the current time.
StoredEvent MakeEvent(int status_code, std::string headers, std::string body);
// A successful token exchange: 200 with a realistic OAuth token response. The
// token in it is a fresh random one, never a secret the client sent.
StoredEvent OkEvent();
// AgLeader refused the refresh token: 401 invalid_grant.
StoredEvent UnauthenticatedEvent();
// The exchange that would leave credentials in `status`: OK and
// UNAUTHENTICATED as above, MISSING_PERMISSION 403, TEMPORARILY_UNAVAILABLE
// 503, anything else 400.
StoredEvent StatusChangeEvent(const std::string& status);

}  // namespace leafemu

#endif  // EMULATOR_AGLEADER_EVENTS_H_
