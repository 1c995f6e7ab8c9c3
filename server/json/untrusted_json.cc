#include "server/json/untrusted_json.h"

#include <cmath>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/encodedstream.h"
#include "rapidjson/error/en.h"
#include "rapidjson/memorystream.h"
#include "rapidjson/reader.h"

namespace leafsvc::json {
namespace {

// Iterative: the native stack stays flat whatever max_depth a caller picks
// (the depth check is what bounds the reader's own stack and the tree).
constexpr unsigned kFlags = rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag;

// Builds `doc` from the reader's events (the document is itself a handler),
// converting numbers from their text and counting nesting.
class Builder {
 public:
  Builder(rapidjson::Document& doc, int max_depth) : doc_(doc), max_depth_(max_depth) {}

  enum class Refusal { kNone, kTooDeep, kNumberTooLarge };
  // Why the handler stopped the parse.
  Refusal refusal() const { return refusal_; }

  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  // Under kParseNumbersAsStringsFlag the reader calls RawNumber instead.
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned u) { return doc_.Uint(u); }
  bool Int64(int64_t i) { return doc_.Int64(i); }
  bool Uint64(uint64_t u) { return doc_.Uint64(u); }
  bool Double(double d) { return doc_.Double(d); }

  // `text` already matches JSON's number grammar (the reader scanned it):
  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?. Typed as RapidJSON types
  // it: an integer that fits int64 or uint64 as such, anything else a double.
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    const absl::string_view text(s, n);
    if (text.find_first_of(".eE") == absl::string_view::npos) {
      if (text[0] == '-') {
        int64_t i;
        if (absl::SimpleAtoi(text, &i)) return doc_.Int64(i);
      } else {
        uint64_t u;
        if (absl::SimpleAtoi(text, &u)) return doc_.Uint64(u);
      }
    }
    double d;
    if (!absl::SimpleAtod(text, &d) || !std::isfinite(d)) {
      refusal_ = Refusal::kNumberTooLarge;
      return false;
    }
    return doc_.Double(d);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return doc_.String(s, n, copy); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return doc_.Key(s, n, copy); }
  bool StartObject() { return Enter() && doc_.StartObject(); }
  bool EndObject(rapidjson::SizeType members) { return --depth_, doc_.EndObject(members); }
  bool StartArray() { return Enter() && doc_.StartArray(); }
  bool EndArray(rapidjson::SizeType elements) { return --depth_, doc_.EndArray(elements); }

 private:
  bool Enter() {
    if (++depth_ <= max_depth_) return true;
    refusal_ = Refusal::kTooDeep;
    return false;
  }

  rapidjson::Document& doc_;
  const int max_depth_;
  int depth_ = 0;
  Refusal refusal_ = Refusal::kNone;
};

bool IsAscii(absl::string_view s) {
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, s.data() + i, sizeof word);
    if (word & 0x8080808080808080ull) return false;
  }
  for (; i < s.size(); ++i) {
    if (static_cast<unsigned char>(s[i]) & 0x80) return false;
  }
  return true;
}

absl::Status Invalid(absl::string_view why) { return absl::InvalidArgumentError(why); }

}  // namespace

absl::Status ParseUntrusted(absl::string_view text, rapidjson::Document& doc, int max_depth) {
  doc.SetNull();
  if (text.empty()) return Invalid("empty body, expected JSON");
  if (text.size() > kMaxTextBytes) return Invalid("larger than 1 GiB");
  // RapidJSON reads a NUL as the end of the text and would accept
  // "{}\0<anything>"; raw NUL is never valid JSON (RFC 8259).
  if (text.find('\0') != absl::string_view::npos) return Invalid("not valid JSON (a NUL byte)");

  Builder builder(doc, max_depth);
  rapidjson::ParseResult result;
  auto generate = [&](rapidjson::Document&) {
    rapidjson::Reader reader;
    rapidjson::MemoryStream bytes(text.data(), text.size());
    // As Document::Parse reads: a UTF-8 byte order mark is skipped.
    rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> in(bytes);
    // JSON is UTF-8 (RFC 8259) and decoded strings end up in protobuf
    // strings, which must be. Validation goes byte by byte through a slow
    // path and only looks at raw bytes (not \u escapes), so an ASCII text,
    // which is nearly always what arrives, skips it with the same outcome.
    if (IsAscii(text)) {
      result = reader.Parse<kFlags>(in, builder);
    } else {
      result = reader.Parse<kFlags | rapidjson::kParseValidateEncodingFlag>(in, builder);
    }
    return !result.IsError();
  };
  doc.Populate(generate);
  if (!result.IsError()) return absl::OkStatus();
  doc.SetNull();
  switch (builder.refusal()) {
    case Builder::Refusal::kTooDeep:
      return Invalid(absl::StrCat("nested deeper than ", max_depth, " levels"));
    case Builder::Refusal::kNumberTooLarge:
      return Invalid(absl::StrCat("not valid JSON (a number too large for a double at offset ",
                                  result.Offset(), ")"));
    case Builder::Refusal::kNone:
      break;
  }
  return Invalid(absl::StrCat("not valid JSON (", rapidjson::GetParseError_En(result.Code()),
                              " at offset ", result.Offset(), ")"));
}

std::optional<int64_t> NumberAsInt64(const rapidjson::Value& v) {
  if (!v.IsInt64()) return std::nullopt;
  return v.GetInt64();
}

std::optional<double> NumberAsDouble(const rapidjson::Value& v) {
  if (!v.IsNumber()) return std::nullopt;
  const double d = v.GetDouble();
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}

}  // namespace leafsvc::json
