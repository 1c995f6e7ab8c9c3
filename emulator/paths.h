// Where Leaf's API and the emulator's own controls live on the server.
#ifndef EMULATOR_PATHS_H_
#define EMULATOR_PATHS_H_

#include "absl/strings/string_view.h"

namespace leafemu {

// Leaf's user-management service sits behind its API gateway under this
// prefix; its problem+json `path` leaves the prefix out.
inline constexpr absl::string_view kGatewayPrefix = "/services/usermanagement";
// Every Bearer-checked route lives under this path.
inline constexpr absl::string_view kBasePath = "/services/usermanagement/api";
inline constexpr absl::string_view kLoginPath = "/api/authenticate";
// The test-control API (control_api.h); never recorded, never faulted.
inline constexpr absl::string_view kControlPrefix = "/_emulator/";
inline constexpr char kHealthPath[] = "/_emulator/health";

}  // namespace leafemu

#endif  // EMULATOR_PATHS_H_
