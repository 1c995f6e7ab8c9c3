// AgLeader as Leaf serves it (shared leaf-api.md): the one provider this
// service fronts today.
#ifndef SERVER_PROVIDERS_AGLEADER_AGLEADER_SPEC_H_
#define SERVER_PROVIDERS_AGLEADER_AGLEADER_SPEC_H_

#include "server/providers/provider_spec.h"

namespace leafsvc::providers {

const ProviderSpec& AgLeaderSpec();

}  // namespace leafsvc::providers

#endif  // SERVER_PROVIDERS_AGLEADER_AGLEADER_SPEC_H_
