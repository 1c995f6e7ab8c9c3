// Building and reading provider-neutral credentials in tests, with
// AgLeader's field names.
#ifndef TESTS_LEAF_TEST_CREDENTIALS_H_
#define TESTS_LEAF_TEST_CREDENTIALS_H_

#include <string>

#include "absl/strings/string_view.h"
#include "server/leaf/leaf_types.h"

namespace leafsvc::testing {

inline leaf::CredentialField TestField(absl::string_view name, absl::string_view value,
                                       bool secret) {
  leaf::CredentialField f;
  f.name = std::string(name);
  f.value = Secret(value);
  f.secret = secret;
  return f;
}

// What CreateCredentials sends for AgLeader (access token left out when
// empty, as FromProto would give it: present but empty).
inline leaf::NewProviderCredentials AgLeaderCreate(absl::string_view refresh_token,
                                                   absl::string_view public_key,
                                                   absl::string_view private_key,
                                                   absl::string_view access_token = "") {
  leaf::NewProviderCredentials c;
  c.fields = {TestField("refreshToken", refresh_token, true),
              TestField("publicKey", public_key, false), TestField("privateKey", private_key, true),
              TestField("accessToken", access_token, true)};
  return c;
}

// The value of field `name` ("" when absent).
inline std::string FieldOf(const leaf::ProviderCredentials& c, absl::string_view name) {
  const leaf::CredentialField* f = leaf::FindField(c.fields, name);
  return f == nullptr ? "" : f->value.Reveal();
}

}  // namespace leafsvc::testing

#endif  // TESTS_LEAF_TEST_CREDENTIALS_H_
