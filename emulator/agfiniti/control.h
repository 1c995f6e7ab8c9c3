// The AgFiniti part of the control API, under /_emulator/agfiniti/ (JSON,
// no auth; see docs/emulator.md):
//   POST   apps {"public_key","private_key","name","redirect_uris":[...]}
//   POST   growers {"username","password"}
//   POST   revoke {"username"}      -> {"revoked_refresh_tokens","flipped_credentials"}
//   POST   refresh-tokens {"username","client_id","scope"} -> {"refresh_token"}
//   GET    stats                    counters only, never a secret
//   GET    last-authorize           the last authorize request's parameters
//   POST   token-fault {"status","body","delay_ms","times"}, DELETE token-fault
#ifndef EMULATOR_AGFINITI_CONTROL_H_
#define EMULATOR_AGFINITI_CONTROL_H_

#include <httplib.h>

#include <string>
#include <vector>

#include "emulator/state.h"

namespace leafemu {
namespace agfiniti {

// `parts`: the path below /_emulator/ split at '/', parts[0] == "agfiniti".
void HandleControl(EmulatorState& state, const std::vector<std::string>& parts,
                   const httplib::Request& req, httplib::Response& res);

}  // namespace agfiniti
}  // namespace leafemu

#endif  // EMULATOR_AGFINITI_CONTROL_H_
