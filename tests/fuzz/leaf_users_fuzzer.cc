// Fuzzes DecodeUsers (GET /users: a bare array or a {"content": [...]} page
// of Leaf users, each with agLeaderCredentials absent, null, an object or an
// array of at most one) and ParseTotalCount. Invariants: decoded strings are
// UTF-8; every user has an id; a user's credentials decode exactly as the
// same object does through DecodeCredentials; an error is INVALID_ARGUMENT,
// short, and never echoes the marker secret from the body.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "server/leaf/leaf_users_json.h"
#include "server/providers/agleader/agleader_spec.h"
#include "tests/fuzz/fuzz_util.h"

namespace leafsvc::fuzz {
namespace {

void CheckError(const absl::Status& status, absl::string_view body) {
  const std::string text = StatusText(status);
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument, text);
  FUZZ_CHECK(!absl::StrContains(text, kMarker),
             absl::StrCat("error echoes the body: ", Printable(text)));
  FUZZ_CHECK(status.message().size() <= 400,
             absl::StrCat("error too long (", status.message().size(), " bytes) for body of ",
                          body.size()));
}

void Run(absl::string_view body) {
  std::optional<long long> total = leaf::ParseTotalCount(body);
  FUZZ_CHECK(!total || *total >= 0, "negative X-Total-Count accepted");

  absl::StatusOr<std::vector<leaf::LeafUser>> users =
      leaf::DecodeUsers(body, providers::AgLeaderSpec());
  if (!users.ok()) return CheckError(users.status(), body);
  for (const leaf::LeafUser& u : *users) {
    FUZZ_CHECK(!u.id.empty(), "a user without an id was accepted");
    if (!CheckDecodedUtf8("id", u.id)) return;
    if (!u.credentials) continue;
    const leaf::ProviderCredentials& c = *u.credentials;
    FUZZ_CHECK(!c.id.empty(), "credentials without an id were accepted");
    bool utf8 = CheckDecodedUtf8("credentials.id", c.id) & CheckDecodedUtf8("status", c.status);
    for (const leaf::CredentialField& f : c.fields) {
      utf8 = CheckDecodedUtf8(f.name.c_str(), f.value.Reveal()) & utf8;
    }
    if (!utf8) return;
  }
}

}  // namespace
}  // namespace leafsvc::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  leafsvc::fuzz::Run(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
