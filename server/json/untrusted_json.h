// Parsing JSON that comes from outside the process (Leaf's answers, alert
// bodies, JWT payloads) without running RapidJSON 1.1's number arithmetic on
// it: its reader computes `exp + expFrac` in an int, which overflows (undefined
// behaviour) on a number like 337206.35803523372022331e-2147483637, and every
// body the service reads reaches that code through Document::Parse.
//
// How: the reader runs with kParseNumbersAsStringsFlag, so it only scans a
// number (its loop counters are bounded by the text's length, which is capped
// below) and hands over the number's text; a handler of ours converts that
// text with absl's checked conversions and stores an ordinary RapidJSON number
// (int64, uint64 or double, as RapidJSON itself would). Keeping numbers as
// strings in the document instead would make the number 12 and the string
// "12" look alike, and every call site that insists on a JSON type (a
// refreshToken must be a string, a statusCode a number) would silently accept
// the other; typed values keep IsString()/IsNumber() meaning what they mean.
// The same handler counts nesting and stops at `max_depth`, so a 1,000,000
// deep "[[[[" costs 64 values, not a tree of millions, and never recursion.
#ifndef SERVER_JSON_UNTRUSTED_JSON_H_
#define SERVER_JSON_UNTRUSTED_JSON_H_

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "rapidjson/document.h"

namespace leafsvc::json {

// Deepest nesting of arrays and objects accepted (Leaf's bodies are 3 deep,
// alert bodies 1).
inline constexpr int kMaxDepth = 64;
// Longest text accepted: RapidJSON's sizes and scan counters are 32-bit.
inline constexpr size_t kMaxTextBytes = size_t{1} << 30;

// Parses text from outside the process into `doc`: iteratively, refusing
// nesting deeper than `max_depth`, numbers converted by checked code (never
// by RapidJSON's arithmetic), the whole text one JSON value (trailing bytes
// and raw NUL bytes refused), UTF-8 validated. A number too large for a
// double is refused, as RapidJSON does; one too small becomes 0.
// INVALID_ARGUMENT with a short reason that never quotes the text ("empty
// body, expected JSON", "nested deeper than 64 levels", "not valid JSON (a
// NUL byte)", "not valid JSON (<RapidJSON's error> at offset N)", ...); on
// failure `doc` is null.
absl::Status ParseUntrusted(absl::string_view text, rapidjson::Document& doc,
                            int max_depth = kMaxDepth);

// Checked conversions of a number member of a document parsed that way:
// nullopt when `v` is null (an absent member), not a number (a JSON string
// "12" is not the number 12), not an integer (written with a fraction or an
// exponent, as RapidJSON types it), or out of range.
std::optional<int64_t> NumberAsInt64(const rapidjson::Value& v);
// Any finite number (ParseUntrusted never stores another); nullopt when `v`
// is null or not a number.
std::optional<double> NumberAsDouble(const rapidjson::Value& v);

}  // namespace leafsvc::json

#endif  // SERVER_JSON_UNTRUSTED_JSON_H_
