#include "emulator/agfiniti/leaf_link.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <utility>

#include "emulator/status_alerts.h"

namespace leafemu {
namespace agfiniti {

int FlipRevokedCredentials(EmulatorState& state, const std::vector<std::string>& refresh_tokens) {
  const ProviderSpec& provider = *state.options.provider;
  const std::string& field = provider.emulator.refused_field;
  if (field.empty() || refresh_tokens.empty()) return 0;
  const std::set<std::string> dead(refresh_tokens.begin(), refresh_tokens.end());
  size_t total = 0;
  int flipped = 0;
  for (const auto& [user, creds] :
       state.store.ListUsers(0, std::numeric_limits<size_t>::max(), &total)) {
    if (!creds || creds->status == "UNAUTHENTICATED" || dead.count(creds->Field(field)) == 0) {
      continue;
    }
    if (!state.store.SetStatus(user, "UNAUTHENTICATED")) continue;  // deleted meanwhile
    std::optional<StoredCredentials> now = state.store.Get(user);
    if (!now) continue;
    SendStatusAlerts(state.webhooks, state.alerts, provider, creds->status, *now);
    ++flipped;
  }
  return flipped;
}

GrowerRevocation RevokeGrower(EmulatorState& state, const std::string& username) {
  std::vector<std::string> revoked = state.agfiniti.RevokeGrower(username);
  GrowerRevocation out;
  out.revoked_refresh_tokens = static_cast<int>(revoked.size());
  out.flipped_credentials = FlipRevokedCredentials(state, revoked);
  return out;
}

}  // namespace agfiniti
}  // namespace leafemu
