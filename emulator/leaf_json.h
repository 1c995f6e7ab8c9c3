// Leaf's JSON representations of what the store holds.
#ifndef EMULATOR_LEAF_JSON_H_
#define EMULATOR_LEAF_JSON_H_

#include <string>
#include <vector>

#include "emulator/types.h"

namespace leafemu {

// A credentials object of `provider`: id, status, createdTime, then the
// spec's fields in its order; an empty field that create does not require
// (AgLeader's accessToken) is served as null.
std::string CredentialsJson(const StoredCredentials& c, const ProviderSpec& provider);
// A JSON array of events, in the order given.
std::string EventsJson(const std::vector<StoredEvent>& events);

}  // namespace leafemu

#endif  // EMULATOR_LEAF_JSON_H_
