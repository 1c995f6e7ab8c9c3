// The test-control HTTP API under /_emulator/: health, reset, duplicate
// mode, faults, recorded requests, stats, the request limit, tokens, and
// per-user credentials, status and events (docs/emulator.md lists the
// endpoints). Its calls are neither recorded, nor faulted, nor counted
// against the request limit; an unknown endpoint is a 404.
#ifndef EMULATOR_CONTROL_API_H_
#define EMULATOR_CONTROL_API_H_

#include <httplib.h>

#include "emulator/state.h"

namespace leafemu {

class ControlApi {
 public:
  explicit ControlApi(EmulatorState& state) : state_(state) {}

  // Serves a request whose path starts with kControlPrefix.
  void Handle(const httplib::Request& req, httplib::Response& res) const;

 private:
  EmulatorState& state_;
};

}  // namespace leafemu

#endif  // EMULATOR_CONTROL_API_H_
