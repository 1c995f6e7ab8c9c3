// Fuzzes DecodeEvents (GET ag-leader-credentials/events: a bare array or a
// {"content": [...]} page). Invariants: decoded strings are UTF-8 (they go
// into proto3 strings); decoded events re-encode to JSON that decodes to the
// same events; an error is INVALID_ARGUMENT, short, and never
// echoes the marker secret from the body.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "server/leaf/leaf_json.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/leaf_json_writer.h"

namespace leafsvc::fuzz {
namespace {

void CheckError(const absl::Status& status, absl::string_view body) {
  const std::string text = StatusText(status);
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument, text);
  FUZZ_CHECK(!absl::StrContains(text, kMarker),
             absl::StrCat("error echoes the body: ", Printable(text)));
  FUZZ_CHECK(status.message().size() <= 300,
             absl::StrCat("error too long (", status.message().size(), " bytes) for body of ",
                          body.size()));
}

bool SameEvent(const leaf::CredentialEvent& a, const leaf::CredentialEvent& b) {
  return a.id == b.id && a.status_code == b.status_code && a.headers == b.headers &&
         a.body == b.body && a.created_date.has_value() == b.created_date.has_value() &&
         (!a.created_date || FloorMicros(*a.created_date) == *b.created_date);
}

void Run(absl::string_view body) {
  absl::StatusOr<std::vector<leaf::CredentialEvent>> first = leaf::DecodeEvents(body);
  if (!first.ok()) return CheckError(first.status(), body);

  for (const leaf::CredentialEvent& e : *first) {
    if (!(CheckDecodedUtf8("id", e.id) & CheckDecodedUtf8("headers", e.headers) &
          CheckDecodedUtf8("body", e.body))) {
      return;
    }
  }
  const std::string json = EncodeEventsResponse(*first);
  absl::StatusOr<std::vector<leaf::CredentialEvent>> second = leaf::DecodeEvents(json);
  FUZZ_CHECK(second.ok(), absl::StrCat("re-encoded events refused: ", second.status().ToString(),
                                       "\n", Printable(json)));
  FUZZ_CHECK(first->size() == second->size(),
             absl::StrCat(first->size(), " events became ", second->size()));
  for (size_t i = 0; i < first->size(); ++i) {
    FUZZ_CHECK(SameEvent((*first)[i], (*second)[i]),
               absl::StrCat("event ", i, " changed in the round trip: ", Printable(json)));
  }
  FUZZ_CHECK(EncodeEventsResponse(*second) == json, "re-encoding is not stable");
}

}  // namespace
}  // namespace leafsvc::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  leafsvc::fuzz::Run(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
