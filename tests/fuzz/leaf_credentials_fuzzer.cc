// Fuzzes DecodeCredentials (a GET/POST ag-leader-credentials response body).
// Invariants: decoded strings are UTF-8 (they go into proto3 strings); a
// decoded credential re-encodes to JSON that decodes to the same
// credential (times kept to the microsecond, as Leaf sends them); an error is
// INVALID_ARGUMENT, short, and never echoes the marker secret from the body.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "server/leaf/leaf_json.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/leaf_json_writer.h"

namespace leafsvc::fuzz {
namespace {

std::string Describe(const leaf::ProviderCredentials& c) {
  return absl::StrCat("id=", Printable(c.id), " status=", Printable(c.status),
                      " publicKey=", Printable(c.public_key),
                      " created=", c.created_time ? LeafTime(*c.created_time) : "-");
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
  absl::StatusOr<leaf::ProviderCredentials> first = leaf::DecodeCredentials(body);
  if (!first.ok()) return CheckError(first.status(), body);

  FUZZ_CHECK(!first->id.empty(), "decoded a credential without an id");
  const bool utf8 = CheckDecodedUtf8("id", first->id) & CheckDecodedUtf8("status", first->status) &
                    CheckDecodedUtf8("publicKey", first->public_key) &
                    CheckDecodedUtf8("refreshToken", first->refresh_token.Reveal()) &
                    CheckDecodedUtf8("privateKey", first->private_key.Reveal()) &
                    CheckDecodedUtf8("accessToken", first->access_token.Reveal());
  if (!utf8) return;
  const std::string json = EncodeCredentialsResponse(*first);
  absl::StatusOr<leaf::ProviderCredentials> second = leaf::DecodeCredentials(json);
  FUZZ_CHECK(second.ok(), absl::StrCat("re-encoded credential refused: ",
                                       second.status().ToString(), "\n", Printable(json)));
  const auto& a = *first;
  const auto& b = *second;
  FUZZ_CHECK(a.id == b.id && a.status == b.status && a.public_key == b.public_key &&
                 a.refresh_token == b.refresh_token && a.private_key == b.private_key &&
                 a.access_token == b.access_token,
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
