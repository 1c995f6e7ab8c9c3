// Where AgFiniti meets Leaf in the emulator: a refresh token AgFiniti
// revoked makes the Leaf credentials holding it UNAUTHENTICATED, as Leaf's
// next refresh against AgFiniti would, with Leaf's alert and event.
#ifndef EMULATOR_AGFINITI_LEAF_LINK_H_
#define EMULATOR_AGFINITI_LEAF_LINK_H_

#include <string>
#include <vector>

#include "emulator/state.h"

namespace leafemu {
namespace agfiniti {

// Sets every stored credential whose refresh token (the provider's
// EmulatorRules::refused_field) is one of `refresh_tokens` to
// UNAUTHENTICATED, recording the 401 event and sending the alert; returns
// how many changed.
int FlipRevokedCredentials(EmulatorState& state, const std::vector<std::string>& refresh_tokens);

struct GrowerRevocation {
  int revoked_refresh_tokens = 0;
  int flipped_credentials = 0;
};
// AgFiniti revokes `username`'s tokens, and Leaf notices.
GrowerRevocation RevokeGrower(EmulatorState& state, const std::string& username);

}  // namespace agfiniti
}  // namespace leafemu

#endif  // EMULATOR_AGFINITI_LEAF_LINK_H_
