// "Testland": a provider that exists only in tests, to show the seam. Its
// names differ from AgLeader's everywhere (path, JSON fields, alert names,
// one status value), so anything still hard-wired to AgLeader breaks.
#ifndef TESTS_PROVIDERS_TEST_PROVIDER_SPEC_H_
#define TESTS_PROVIDERS_TEST_PROVIDER_SPEC_H_

#include "server/providers/provider_spec.h"

namespace leafsvc::testing {

// Fields: clientSecret (secret, required) <-> refresh_token, clientId
// (public, required) <-> public_key, signingKey (secret, required) <->
// private_key, sessionToken (secret, optional) <-> access_token. Statuses:
// OK, UNAUTHENTICATED, SUSPENDED (-> CREDENTIAL_STATUS_MISSING_PERMISSION).
const providers::ProviderSpec& TestlandSpec();

}  // namespace leafsvc::testing

#endif  // TESTS_PROVIDERS_TEST_PROVIDER_SPEC_H_
