#include "emulator/json.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace leafemu {

void WriteString(JsonWriter& w, absl::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void WriteKey(JsonWriter& w, absl::string_view s) {
  w.Key(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

std::string JsonQuote(absl::string_view s) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  WriteString(w, s);
  return buf.GetString();
}

bool ParseObject(const std::string& body, rapidjson::Document& doc) {
  doc.Parse(body.data(), body.size());
  return !doc.HasParseError() && doc.IsObject();
}

std::optional<std::string> StringMember(const rapidjson::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::optional<int64_t> IntMember(const rapidjson::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd()) return std::nullopt;
  if (it->value.IsInt64()) return it->value.GetInt64();
  if (it->value.IsNumber()) return static_cast<int64_t>(it->value.GetDouble());
  if (it->value.IsString()) {
    int64_t v;
    if (absl::SimpleAtoi(it->value.GetString(), &v)) return v;
  }
  return std::nullopt;
}

std::optional<bool> BoolMember(const rapidjson::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd()) return std::nullopt;
  if (it->value.IsBool()) return it->value.GetBool();
  if (it->value.IsString()) {
    std::string s = absl::AsciiStrToLower(it->value.GetString());
    if (s == "true") return true;
    if (s == "false") return false;
  }
  return std::nullopt;
}

}  // namespace leafemu
