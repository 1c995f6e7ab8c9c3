// Read outcomes the watch tests feed in.
#ifndef TESTS_WATCH_OBSERVATIONS_H_
#define TESTS_WATCH_OBSERVATIONS_H_

#include <string>

#include "server/watch/change.h"

namespace leafsvc::watch {

inline Observation Present(const std::string& id, const std::string& status) {
  Observation o;
  o.kind = Observation::Kind::kPresent;
  o.credentials.id = id;
  o.credentials.status = status;
  return o;
}

inline Observation Absent() {
  Observation o;
  o.kind = Observation::Kind::kAbsent;
  return o;
}

inline Observation Failed() {
  Observation o;
  o.kind = Observation::Kind::kError;
  o.error = absl::UnavailableError("Leaf is down");
  return o;
}

}  // namespace leafsvc::watch

#endif  // TESTS_WATCH_OBSERVATIONS_H_
