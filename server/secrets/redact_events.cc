#include "server/secrets/redact_events.h"

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "rapidjson/reader.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "server/secrets/redact.h"

namespace leafsvc {
namespace {

// Normalised (lower case, no '_', '-', '.') names that are secret as a whole.
constexpr absl::string_view kSecretKeyNames[] = {
    "authorization", "cookie", "pwd", "key", "session", "sessionid", "assertion",
};
// ... or as an ending: access_token, x-auth-token, client_secret, apiKey.
constexpr absl::string_view kSecretKeySuffixes[] = {
    "token",         "secret", "password",   "passwd",      "apikey",    "privatekey",
    "authorization", "cookie", "credential", "credentials", "signature",
};

bool IsKeyChar(char c) { return absl::ascii_isalnum(c) || c == '_' || c == '-' || c == '.'; }

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(c) || c == '+' || c == '/' || c == '=' || c == '_' || c == '~' ||
         c == '.' || c == '-';
}

using Ranges = std::vector<std::pair<size_t, size_t>>;

// End of a value starting at `v` after separator `sep`.
size_t ValueEnd(absl::string_view t, size_t v, char sep) {
  if (v < t.size() && (t[v] == '"' || t[v] == '\'')) {
    const char q = t[v];
    size_t e = v + 1;
    while (e < t.size() && t[e] != q) e += t[e] == '\\' ? 2 : 1;
    return std::min(e + 1, t.size());
  }
  size_t e = v;
  if (sep == ':') {
    while (e < t.size() && t[e] != '\n' && t[e] != '\r') ++e;
  } else {
    while (e < t.size() && !absl::ascii_isspace(t[e]) && !absl::StrContains("&;,\"'", t[e])) {
      ++e;
    }
  }
  return e;
}

// `key: value`, `key=value`, `"key": "value"` with a secret-named key.
void FindKeyValues(absl::string_view t, Ranges& out) {
  for (size_t i = 0; i < t.size();) {
    if (!IsKeyChar(t[i])) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < t.size() && IsKeyChar(t[end])) ++end;
    const absl::string_view key = t.substr(i, end - i);
    i = end;
    if (!IsSecretKeyName(key)) continue;
    size_t j = end;
    if (j < t.size() && (t[j] == '"' || t[j] == '\'')) ++j;
    while (j < t.size() && (t[j] == ' ' || t[j] == '\t')) ++j;
    if (j >= t.size() || (t[j] != ':' && t[j] != '=')) continue;
    const char sep = t[j++];
    while (j < t.size() && (t[j] == ' ' || t[j] == '\t')) ++j;
    const size_t value_end = ValueEnd(t, j, sep);
    // A quoted value keeps its quotes, so JSON stays JSON.
    const bool quoted = j < t.size() && (t[j] == '"' || t[j] == '\'') && value_end - j >= 2;
    const size_t s = quoted ? j + 1 : j;
    const size_t e = quoted ? value_end - 1 : value_end;
    if (e > s) out.emplace_back(s, e);
    i = value_end;
  }
}

// The credential after an HTTP authentication scheme.
void FindSchemes(absl::string_view t, Ranges& out) {
  const std::string text = absl::AsciiStrToLower(t);
  const absl::string_view lower = text;
  for (absl::string_view scheme : {"bearer ", "basic "}) {
    for (size_t p = lower.find(scheme); p != absl::string_view::npos;
         p = lower.find(scheme, p + 1)) {
      size_t s = p + scheme.size(), e = s;
      while (e < t.size() && IsTokenChar(t[e])) ++e;
      if (e > s) out.emplace_back(s, e);
    }
  }
}

// Long runs that look like keys or tokens rather than words or ids.
void FindOpaqueTokens(absl::string_view t, Ranges& out) {
  constexpr size_t kMinOpaque = 24;
  for (size_t i = 0; i < t.size();) {
    if (!IsTokenChar(t[i])) {
      ++i;
      continue;
    }
    size_t e = i;
    bool upper = false, lower = false, digit = false;
    for (; e < t.size() && IsTokenChar(t[e]); ++e) {
      upper |= absl::ascii_isupper(t[e]);
      lower |= absl::ascii_islower(t[e]);
      digit |= absl::ascii_isdigit(t[e]);
    }
    if (e - i >= kMinOpaque && upper && lower && digit) out.emplace_back(i, e);
    i = e;
  }
}

std::string RedactText(absl::string_view t) {
  Ranges ranges;
  FindKeyValues(t, ranges);
  FindSchemes(t, ranges);
  FindOpaqueTokens(t, ranges);
  std::vector<bool> hit(t.size(), false);
  for (const auto& [s, e] : ranges) {
    for (size_t k = s; k < e; ++k) hit[k] = true;
  }
  std::string out;
  out.reserve(t.size());
  for (size_t i = 0; i < t.size();) {
    if (!hit[i]) {
      out.push_back(t[i++]);
      continue;
    }
    out.append(kRedacted.data(), kRedacted.size());
    while (i < t.size() && hit[i]) ++i;
  }
  return Redactor().Redact(out);
}

// SAX pass-through that redacts on the way (streaming: memory stays
// proportional to the body, whatever its shape).
class Handler {
 public:
  explicit Handler(rapidjson::Writer<rapidjson::StringBuffer>& w) : w_(w) {}

  bool Null() { return Scalar(), w_.Null(); }
  bool Bool(bool b) { return Scalar(), w_.Bool(b); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    if (Scalar()) return RedactedValue();
    return w_.RawValue(s, n, rapidjson::kNumberType);
  }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    if (Scalar()) return n == 0 ? w_.String("") : RedactedValue();
    const std::string text = RedactText(absl::string_view(s, n));
    return w_.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    next_secret_ = IsSecretKeyName(absl::string_view(s, n));
    return w_.Key(s, n);
  }
  bool StartObject() { return Open() && w_.StartObject(); }
  bool EndObject(rapidjson::SizeType) { return Close(), w_.EndObject(); }
  bool StartArray() { return Open() && w_.StartArray(); }
  bool EndArray(rapidjson::SizeType) { return Close(), w_.EndArray(); }
  // Only called without kParseNumbersAsStringsFlag.
  bool Int(int) { return false; }
  bool Uint(unsigned) { return false; }
  bool Int64(int64_t) { return false; }
  bool Uint64(uint64_t) { return false; }
  bool Double(double) { return false; }

 private:
  // Whether the scalar now being written is secret.
  bool Scalar() {
    const bool secret = next_secret_ || secret_depth_ >= 0;
    next_secret_ = false;
    return secret;
  }
  bool RedactedValue() {
    return w_.String(kRedacted.data(), static_cast<rapidjson::SizeType>(kRedacted.size()));
  }
  bool Open() {
    if (++depth_ > kMaxEventJsonDepth) return false;
    if (next_secret_ && secret_depth_ < 0) secret_depth_ = depth_;
    next_secret_ = false;
    return true;
  }
  void Close() {
    if (secret_depth_ == depth_) secret_depth_ = -1;
    --depth_;
  }

  rapidjson::Writer<rapidjson::StringBuffer>& w_;
  int depth_ = 0;
  int secret_depth_ = -1;  // depth of the secret container being written
  bool next_secret_ = false;
};

}  // namespace

bool IsSecretKeyName(absl::string_view key) {
  std::string n;
  n.reserve(key.size());
  for (char c : key) {
    if (c != '_' && c != '-' && c != '.') n.push_back(absl::ascii_tolower(c));
  }
  for (absl::string_view name : kSecretKeyNames) {
    if (n == name) return true;
  }
  for (absl::string_view suffix : kSecretKeySuffixes) {
    if (absl::EndsWith(n, suffix)) return true;
  }
  return false;
}

std::string RedactEventText(absl::string_view text) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  if (!trimmed.empty() && (trimmed.front() == '{' || trimmed.front() == '[')) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    Handler handler(writer);
    rapidjson::Reader reader;
    const std::string copy(text);  // StringStream reads up to a NUL
    rapidjson::StringStream in(copy.c_str());
    constexpr unsigned kFlags = rapidjson::kParseIterativeFlag |
                                rapidjson::kParseNumbersAsStringsFlag |
                                rapidjson::kParseValidateEncodingFlag;
    if (!reader.Parse<kFlags>(in, handler).IsError() && in.Tell() == copy.size()) {
      return std::string(buffer.GetString(), buffer.GetSize());
    }
  }
  // Not JSON (or truncated, too deep, or NUL inside): the text rules.
  return RedactText(text);
}

}  // namespace leafsvc
