// Fuzzes json::ParseUntrusted, the one parser of JSON from outside (Leaf's
// answers, alert bodies), against an independent reading of the same bytes:
// RapidJSON's reader with numbers as text (no number arithmetic), a handler
// that only records events and depth, and strtoll/strtoull/strtod for the
// numbers. Invariants: ParseUntrusted accepts exactly the texts that are one
// JSON value, UTF-8, without a raw NUL, at most 64 deep, with every number
// finite as a double; what it builds is that value event by event (numbers
// typed and valued as RapidJSON types them, strings not numbers); the checked
// conversions agree with the type; a re-encoded document parses back equal;
// an error is INVALID_ARGUMENT, one of the documented reasons, and never
// quotes the text. Seeds include alert bodies ({"type","status",
// "credentialId","message"}), which are read here as the alert listener
// reads them.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "rapidjson/encodedstream.h"
#include "rapidjson/memorystream.h"
#include "rapidjson/reader.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "server/json/untrusted_json.h"
#include "tests/fuzz/fuzz_util.h"

namespace leafsvc::fuzz {
namespace {

struct Event {
  char kind;  // n(ull) t(rue) f(alse) #(number) s(tring) k(ey) { } [ ]
  std::string text;
  bool operator==(const Event& o) const { return kind == o.kind && text == o.text; }
};

// The reference reading: events in document order, deepest nesting.
class Recorder {
 public:
  std::vector<Event> events;
  int depth = 0;
  int max_depth = 0;

  bool Null() { return Add('n'); }
  bool Bool(bool b) { return Add(b ? 't' : 'f'); }
  bool Int(int) { return false; }  // never called with numbers as strings
  bool Uint(unsigned) { return false; }
  bool Int64(int64_t) { return false; }
  bool Uint64(uint64_t) { return false; }
  bool Double(double) { return false; }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) { return Add('#', s, n); }
  bool String(const char* s, rapidjson::SizeType n, bool) { return Add('s', s, n); }
  bool Key(const char* s, rapidjson::SizeType n, bool) { return Add('k', s, n); }
  bool StartObject() { return Open('{'); }
  bool EndObject(rapidjson::SizeType n) { return --depth, Add('}', std::to_string(n)); }
  bool StartArray() { return Open('['); }
  bool EndArray(rapidjson::SizeType n) { return --depth, Add(']', std::to_string(n)); }

 private:
  bool Add(char kind, const char* s = "", size_t n = 0) { return Add(kind, std::string(s, n)); }
  bool Add(char kind, std::string text) {
    events.push_back({kind, std::move(text)});
    return true;
  }
  bool Open(char kind) {
    if (++depth > max_depth) max_depth = depth;
    return Add(kind);
  }
};

// A number's text is finite as a double (strtod: correctly rounded, HUGE_VAL
// on overflow, the "C" locale in a fuzzer).
bool FiniteNumber(const std::string& text) {
  errno = 0;
  const double d = std::strtod(text.c_str(), nullptr);
  return !(errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL));
}

// The value ParseUntrusted must have made of a number's text.
void CheckNumber(const std::string& text, const rapidjson::Value& v) {
  const bool integer = text.find_first_of(".eE") == std::string::npos;
  errno = 0;
  const long long i = std::strtoll(text.c_str(), nullptr, 10);
  if (integer && errno == 0) {
    FUZZ_CHECK(v.IsInt64() && v.GetInt64() == i, absl::StrCat("integer ", text));
    FUZZ_CHECK(json::NumberAsInt64(v) == i, absl::StrCat("NumberAsInt64 of ", text));
    return;
  }
  errno = 0;
  const unsigned long long u = std::strtoull(text.c_str(), nullptr, 10);
  if (integer && text[0] != '-' && errno == 0) {
    FUZZ_CHECK(v.IsUint64() && !v.IsInt64() && v.GetUint64() == u, absl::StrCat("uint64 ", text));
    FUZZ_CHECK(!json::NumberAsInt64(v).has_value(), absl::StrCat("out of int64 range: ", text));
    return;
  }
  const double d = std::strtod(text.c_str(), nullptr);
  FUZZ_CHECK(v.IsDouble() && v.GetDouble() == d, absl::StrCat("double ", Printable(text)));
  FUZZ_CHECK(!json::NumberAsInt64(v).has_value(), absl::StrCat("not an integer: ", text));
  FUZZ_CHECK(json::NumberAsDouble(v) == d, absl::StrCat("NumberAsDouble of ", text));
}

// Walks the built document in order and matches it against the reference.
class Matcher {
 public:
  explicit Matcher(const std::vector<Event>& want) : want_(want) {}

  void Walk(const rapidjson::Value& v) {
    if (v.IsObject()) {
      Expect('{', "");
      for (const auto& m : v.GetObject()) {
        Expect('k', std::string(m.name.GetString(), m.name.GetStringLength()));
        Walk(m.value);
      }
      Expect('}', std::to_string(v.MemberCount()));
    } else if (v.IsArray()) {
      Expect('[', "");
      for (const auto& e : v.GetArray()) Walk(e);
      Expect(']', std::to_string(v.Size()));
    } else if (v.IsString()) {
      Expect('s', std::string(v.GetString(), v.GetStringLength()));
      FUZZ_CHECK(!json::NumberAsInt64(v) && !json::NumberAsDouble(v), "a string read as a number");
    } else if (v.IsNumber()) {
      FUZZ_CHECK(next_ < want_.size() && want_[next_].kind == '#',
                 absl::StrCat("a number where the text has event ", next_));
      CheckNumber(want_[next_++].text, v);
    } else {
      Expect(v.IsNull() ? 'n' : v.IsTrue() ? 't' : 'f', "");
      FUZZ_CHECK(!json::NumberAsInt64(v) && !json::NumberAsDouble(v), "a literal read as a number");
    }
  }
  bool AtEnd() const { return next_ == want_.size(); }

 private:
  void Expect(char kind, const std::string& text) {
    FUZZ_CHECK(next_ < want_.size() && (want_[next_] == Event{kind, text}),
               absl::StrCat("event ", next_, ": built ", std::string(1, kind), " \"",
                            Printable(text), "\", the text has ",
                            next_ < want_.size() ? std::string(1, want_[next_].kind) : "nothing"));
    ++next_;
  }

  const std::vector<Event>& want_;
  size_t next_ = 0;
};

bool AllStringsUtf8(const rapidjson::Value& v) {
  if (v.IsString()) return IsValidUtf8(absl::string_view(v.GetString(), v.GetStringLength()));
  if (v.IsArray()) {
    for (const auto& e : v.GetArray()) {
      if (!AllStringsUtf8(e)) return false;
    }
  }
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      if (!AllStringsUtf8(m.name) || !AllStringsUtf8(m.value)) return false;
    }
  }
  return true;
}

std::string Write(const rapidjson::Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  FUZZ_CHECK(v.Accept(writer), "a parsed document could not be written");
  return std::string(buffer.GetString(), buffer.GetSize());
}

void Run(absl::string_view text) {
  rapidjson::Document doc;
  const absl::Status st = json::ParseUntrusted(text, doc);

  Recorder ref;
  rapidjson::Reader reader;
  rapidjson::MemoryStream bytes(text.data(), text.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> in(bytes);
  const bool syntax_ok =
      !reader
           .Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag |
                  rapidjson::kParseValidateEncodingFlag>(in, ref)
           .IsError();
  bool numbers_finite = true;
  for (const Event& e : ref.events) {
    if (e.kind == '#') numbers_finite &= FiniteNumber(e.text);
  }
  const bool want_ok = syntax_ok && text.find('\0') == absl::string_view::npos &&
                       ref.max_depth <= json::kMaxDepth && numbers_finite;
  FUZZ_CHECK(st.ok() == want_ok,
             absl::StrCat("ParseUntrusted ", st.ok() ? "accepted" : "refused", " (", st.message(),
                          ") a text the reference ", want_ok ? "accepts" : "refuses", " (syntax ",
                          syntax_ok, ", depth ", ref.max_depth, ", numbers finite ", numbers_finite,
                          "): ", Printable(text)));
  if (!st.ok()) {
    FUZZ_CHECK(st.code() == absl::StatusCode::kInvalidArgument, StatusText(st));
    const absl::string_view m = st.message();
    FUZZ_CHECK(absl::StartsWith(m, "not valid JSON (") || m == "empty body, expected JSON" ||
                   m == "nested deeper than 64 levels",
               absl::StrCat("undocumented reason: ", Printable(m)));
    FUZZ_CHECK(m.size() <= 120 && !absl::StrContains(m, kMarker) && !absl::StrContains(m, "\""),
               absl::StrCat("error quotes the text: ", Printable(m)));
    FUZZ_CHECK(doc.IsNull(), "a refused text left a document");
    return;
  }

  Matcher matcher(ref.events);
  matcher.Walk(doc);
  FUZZ_CHECK(matcher.AtEnd(), "the document has fewer values than the text");

  // An alert body is read by field, strings only (a number is no id).
  if (doc.IsObject()) {
    for (const char* name : {"type", "status", "credentialId", "message"}) {
      auto it = doc.FindMember(name);
      if (it != doc.MemberEnd() && it->value.IsString()) (void)it->value.GetStringLength();
    }
  }

  // Lone surrogate escapes decode to bytes that are not UTF-8 (the decoders
  // repair them); such a document cannot round-trip through a validating parse.
  if (!AllStringsUtf8(doc)) return;
  const std::string written = Write(doc);
  rapidjson::Document again;
  const absl::Status st2 = json::ParseUntrusted(written, again);
  // Compared as text: operator== matches members by name, which duplicate
  // names (valid JSON, kept in order here) would fool.
  FUZZ_CHECK(st2.ok() && Write(again) == written,
             absl::StrCat("changed in the round trip (", st2.message(), "): ", Printable(written)));
}

}  // namespace
}  // namespace leafsvc::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  leafsvc::fuzz::Run(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
