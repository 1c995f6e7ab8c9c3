#include "server/providers/agleader/agleader_spec.h"

namespace leafsvc::providers {
namespace {

ProviderSpec MakeAgLeaderSpec() {
  ProviderSpec spec;
  spec.name = "AgLeader";
  spec.display_name = "AgLeader";
  spec.path_segment = "ag-leader-credentials";
  spec.resource_type = "AgLeaderCredentials";
  spec.user_member = "agLeaderCredentials";
  // Leaf's bean validation: refreshToken, publicKey and privateKey are
  // @NotBlank; accessToken is optional. Sent in this order.
  spec.fields = {
      //  json_name      proto_field      secret required
      {"refreshToken", "refresh_token", true, true},
      {"publicKey", "public_key", false, true},
      {"privateKey", "private_key", true, true},
      {"accessToken", "access_token", true, false},
  };
  spec.statuses = {
      {"OK", "CREDENTIAL_STATUS_OK"},
      {"UNAUTHENTICATED", "CREDENTIAL_STATUS_UNAUTHENTICATED"},
      {"MISSING_PERMISSION", "CREDENTIAL_STATUS_MISSING_PERMISSION"},
      {"TEMPORARILY_UNAVAILABLE", "CREDENTIAL_STATUS_TEMPORARILY_UNAVAILABLE"},
  };
  spec.emulator.refused_field = "refreshToken";
  spec.emulator.refused_error_key = "invalidrefreshtoken";
  spec.emulator.refused_detail = "AgLeader refused the refresh token (invalid_grant)";
  spec.emulator.seed_prefixes = {{"refreshToken", "seeded-refresh"},
                                 {"publicKey", "seeded-public-key"},
                                 {"privateKey", "seeded-private"},
                                 {"accessToken", "seeded-access"}};
  return spec;
}

}  // namespace

const ProviderSpec& AgLeaderSpec() {
  // Never destroyed: read from threads that may outlive static destruction.
  static const ProviderSpec* const spec = new ProviderSpec(MakeAgLeaderSpec());
  return *spec;
}

}  // namespace leafsvc::providers
