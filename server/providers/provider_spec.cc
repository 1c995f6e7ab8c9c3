#include "server/providers/provider_spec.h"

namespace leafsvc::providers {

const FieldSpec* ProviderSpec::FindField(absl::string_view json_name) const {
  for (const FieldSpec& f : fields) {
    if (f.json_name == json_name) return &f;
  }
  return nullptr;
}

const StatusSpec* ProviderSpec::FindStatus(absl::string_view leaf_value) const {
  for (const StatusSpec& s : statuses) {
    if (s.leaf_value == leaf_value) return &s;
  }
  return nullptr;
}

}  // namespace leafsvc::providers
