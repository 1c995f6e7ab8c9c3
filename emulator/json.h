// Small RapidJSON helpers: writing strings and keys from string_views, and
// reading members leniently (Leaf's clients send numbers and booleans as
// strings at times).
#ifndef EMULATOR_JSON_H_
#define EMULATOR_JSON_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace leafemu {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteString(JsonWriter& w, absl::string_view s);
void WriteKey(JsonWriter& w, absl::string_view s);
// `s` as a JSON string literal, quotes included.
std::string JsonQuote(absl::string_view s);

// Parses `body` into `doc`; false when it is not a JSON object.
bool ParseObject(const std::string& body, rapidjson::Document& doc);
// The string member `name` of `obj`, or nullopt (absent, null, not a string).
std::optional<std::string> StringMember(const rapidjson::Value& obj, const char* name);
// An integer member given as a number (truncated) or a decimal string.
std::optional<int64_t> IntMember(const rapidjson::Value& obj, const char* name);
// A boolean member given as a boolean or as "true"/"false" (any case).
std::optional<bool> BoolMember(const rapidjson::Value& obj, const char* name);

}  // namespace leafemu

#endif  // EMULATOR_JSON_H_
