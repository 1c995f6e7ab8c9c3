// Fuzzes DecodeLoginResponse (POST /api/authenticate). Invariants: a decoded
// id_token is not empty, survives a re-encode, and prints as "[redacted]";
// an error is INVALID_ARGUMENT, short, and never echoes the marker secret.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "server/leaf/leaf_json.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/leaf_json_writer.h"

namespace leafsvc::fuzz {
namespace {

void Run(absl::string_view body) {
  absl::StatusOr<Secret> token = leaf::DecodeLoginResponse(body);
  if (!token.ok()) {
    const std::string text = StatusText(token.status());
    FUZZ_CHECK(token.status().code() == absl::StatusCode::kInvalidArgument, text);
    FUZZ_CHECK(!absl::StrContains(text, kMarker),
               absl::StrCat("error echoes the body: ", Printable(text)));
    FUZZ_CHECK(token.status().message().size() <= 300, Printable(text));
    return;
  }
  FUZZ_CHECK(!token->empty(), "decoded an empty id_token");
  if (!CheckDecodedUtf8("id_token", token->Reveal())) return;
  std::ostringstream printed;
  printed << *token;
  FUZZ_CHECK(printed.str() == "[redacted]", printed.str());

  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  PutString(w, "id_token", token->Reveal());
  w.EndObject();
  absl::StatusOr<Secret> again =
      leaf::DecodeLoginResponse(absl::string_view(buffer.GetString(), buffer.GetSize()));
  FUZZ_CHECK(again.ok() && *again == *token, "id_token changed in the round trip");
}

}  // namespace
}  // namespace leafsvc::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  leafsvc::fuzz::Run(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
