#include "server/connect/connect_link.h"

namespace leafsvc::connect {

absl::string_view LinkStateName(LinkState state) {
  switch (state) {
    case LinkState::kPending:
      return "PENDING";
    case LinkState::kConnected:
      return "CONNECTED";
    case LinkState::kDenied:
      return "DENIED";
    case LinkState::kFailed:
      return "FAILED";
    case LinkState::kExpired:
      return "EXPIRED";
  }
  return "STATE_UNSPECIFIED";
}

LinkState ConnectLink::StateAt(absl::Time now) const {
  // A connected link keeps saying so after its expiry: the grower did
  // connect, and that fact must not turn into "expired" on a status page.
  if (state == LinkState::kConnected) return state;
  if (now >= expire_time) return LinkState::kExpired;
  return state;
}

}  // namespace leafsvc::connect
