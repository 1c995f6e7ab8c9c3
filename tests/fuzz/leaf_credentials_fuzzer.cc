// Fuzzes DecodeCredentials (a GET/POST {provider}-credentials response body,
// with AgLeader's spec).
// Invariants: decoded strings are UTF-8 (they go into proto3 strings); a
// decoded credential re-encodes to JSON that decodes to the same
// credential (times kept to the microsecond, as Leaf sends them); an error is
// INVALID_ARGUMENT, short, and never echoes the marker secret from the body.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "server/leaf/leaf_json.h"
#include "server/providers/agleader/agleader_spec.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/leaf_json_writer.h"

namespace leafsvc::fuzz {
namespace {

// Public fields only: a secret's value is never printed, even here.
std::string Describe(const leaf::ProviderCredentials& c) {
  std::string out = absl::StrCat("id=", Printable(c.id), " status=", Printable(c.status));
  for (const leaf::CredentialField& f : c.fields) {
    if (!f.secret) absl::StrAppend(&out, " ", f.name, "=", Printable(f.value.Reveal()));
  }
  absl::StrAppend(&out, " created=", c.created_time ? LeafTime(*c.created_time) : "-");
  return out;
}

bool SameFields(const leaf::ProviderCredentials& a, const leaf::ProviderCredentials& b) {
  if (a.fields.size() != b.fields.size()) return false;
  for (size_t i = 0; i < a.fields.size(); ++i) {
    if (a.fields[i].name != b.fields[i].name || a.fields[i].value != b.fields[i].value ||
        a.fields[i].secret != b.fields[i].secret) {
      return false;
    }
  }
  return true;
}

void CheckError(const absl::Status& status, absl::string_view body) {
  const std::string text = StatusText(status);
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument, text);
  FUZZ_CHECK(!absl::StrContains(text, kMarker),
             absl::StrCat("error echoes the body: ", Printable(text)));
  FUZZ_CHECK(status.message().size() <= 300,
             absl::StrCat("error too long (", status.message().size(), " bytes) for body of ",
                          body.size()));
}

void Run(absl::string_view body) {
  const providers::ProviderSpec& spec = providers::AgLeaderSpec();
  absl::StatusOr<leaf::ProviderCredentials> first = leaf::DecodeCredentials(body, spec);
  if (!first.ok()) return CheckError(first.status(), body);

  FUZZ_CHECK(!first->id.empty(), "decoded a credential without an id");
  FUZZ_CHECK(first->fields.size() == spec.fields.size(), "a field of the spec is missing");
  bool utf8 = CheckDecodedUtf8("id", first->id) & CheckDecodedUtf8("status", first->status);
  for (const leaf::CredentialField& f : first->fields) {
    utf8 = CheckDecodedUtf8(f.name.c_str(), f.value.Reveal()) & utf8;
  }
  if (!utf8) return;
  const std::string json = EncodeCredentialsResponse(*first);
  absl::StatusOr<leaf::ProviderCredentials> second = leaf::DecodeCredentials(json, spec);
  FUZZ_CHECK(second.ok(), absl::StrCat("re-encoded credential refused: ",
                                       second.status().ToString(), "\n", Printable(json)));
  const auto& a = *first;
  const auto& b = *second;
  FUZZ_CHECK(a.id == b.id && a.status == b.status && SameFields(a, b),
             absl::StrCat(Describe(a), "\n", Describe(b)));
  FUZZ_CHECK(a.created_time.has_value() == b.created_time.has_value() &&
                 (!a.created_time || FloorMicros(*a.created_time) == *b.created_time),
             absl::StrCat(Describe(a), "\n", Describe(b)));
  FUZZ_CHECK(EncodeCredentialsResponse(b) == json, "re-encoding is not stable");
}

}  // namespace
}  // namespace leafsvc::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  leafsvc::fuzz::Run(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
