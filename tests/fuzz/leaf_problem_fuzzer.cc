// Fuzzes DecodeProblem (Leaf's JHipster problem+json error bodies, but also
// HTML gateway pages, empty bodies and anything else an error can carry).
// Invariants: every (UTF-8) JSON object is a problem and nothing else is;
// decoded strings are UTF-8; a decoded problem re-encodes to JSON that
// decodes to the same problem.
#include <cstddef>
#include <cstdint>
#include <string>

#include "rapidjson/document.h"
#include "server/json/untrusted_json.h"
#include "server/leaf/leaf_json.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/leaf_json_writer.h"

namespace leafsvc::fuzz {
namespace {

bool SameProblem(const leaf::Problem& a, const leaf::Problem& b) {
  if (a.type != b.type || a.title != b.title || a.detail != b.detail || a.message != b.message ||
      a.error_key != b.error_key || a.path != b.path ||
      a.field_errors.size() != b.field_errors.size()) {
    return false;
  }
  for (size_t i = 0; i < a.field_errors.size(); ++i) {
    const auto& x = a.field_errors[i];
    const auto& y = b.field_errors[i];
    if (x.object_name != y.object_name || x.field != y.field || x.message != y.message) {
      return false;
    }
  }
  return a.Summary() == b.Summary();
}

void Run(absl::string_view body) {
  std::optional<leaf::Problem> problem = leaf::DecodeProblem(body);

  // Any body the one parser of outside JSON reads as an object (UTF-8, no
  // raw NUL, at most 64 deep, numbers finite: tests/fuzz/untrusted_json_fuzzer
  // checks that parser against RapidJSON's own reading).
  rapidjson::Document doc;
  const bool is_object = json::ParseUntrusted(body, doc).ok() && doc.IsObject();
  FUZZ_CHECK(problem.has_value() == is_object,
             absl::StrCat("DecodeProblem ", problem ? "accepted" : "refused", " a body that is",
                          is_object ? "" : " not", " a JSON object: ", Printable(body)));
  if (!problem) return;
  bool utf8 = true;
  for (const std::string* s : {&problem->type, &problem->title, &problem->detail, &problem->message,
                               &problem->error_key, &problem->path}) {
    utf8 &= CheckDecodedUtf8("problem field", *s);
  }
  for (const auto& f : problem->field_errors) {
    utf8 &= CheckDecodedUtf8("objectName", f.object_name) & CheckDecodedUtf8("field", f.field) &
            CheckDecodedUtf8("message", f.message);
  }
  if (!utf8) return;

  const std::string json = EncodeProblemBody(*problem);
  std::optional<leaf::Problem> again = leaf::DecodeProblem(json);
  FUZZ_CHECK(again.has_value() && SameProblem(*problem, *again),
             absl::StrCat("problem changed in the round trip: ", Printable(json)));
  (void)problem->Summary();
}

}  // namespace
}  // namespace leafsvc::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  leafsvc::fuzz::Run(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
