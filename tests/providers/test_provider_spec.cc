#include "tests/providers/test_provider_spec.h"

namespace leafsvc::testing {
namespace {

providers::ProviderSpec MakeTestlandSpec() {
  providers::ProviderSpec spec;
  spec.name = "Testland";
  spec.display_name = "Testland";
  spec.path_segment = "testland-credentials";
  spec.resource_type = "TestlandCredentials";
  spec.user_member = "testlandCredentials";
  spec.fields = {
      //  json_name      proto_field      secret required
      {"clientSecret", "refresh_token", true, true},
      {"clientId", "public_key", false, true},
      {"signingKey", "private_key", true, true},
      {"sessionToken", "access_token", true, false},
  };
  spec.statuses = {
      {"OK", "CREDENTIAL_STATUS_OK"},
      {"UNAUTHENTICATED", "CREDENTIAL_STATUS_UNAUTHENTICATED"},
      {"SUSPENDED", "CREDENTIAL_STATUS_MISSING_PERMISSION"},
  };
  spec.emulator.refused_field = "clientSecret";
  spec.emulator.refused_error_key = "invalidclientsecret";
  spec.emulator.refused_detail = "Testland refused the client secret";
  return spec;
}

}  // namespace

const providers::ProviderSpec& TestlandSpec() {
  static const providers::ProviderSpec* const spec =
      new providers::ProviderSpec(MakeTestlandSpec());
  return *spec;
}

}  // namespace leafsvc::testing
