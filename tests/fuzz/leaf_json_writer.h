// Writes decoded Leaf resources back as Leaf-shaped JSON, so that a fuzz
// target can check decode(encode(decode(x))) == decode(x). Independent of the
// code under test except for RapidJSON's writer.
#ifndef TESTS_FUZZ_LEAF_JSON_WRITER_H_
#define TESTS_FUZZ_LEAF_JSON_WRITER_H_

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "server/leaf/leaf_types.h"

namespace leafsvc::fuzz {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Leaf's format with 6 fraction digits, the year always 4 digits.
inline std::string LeafTime(absl::Time t) {
  const absl::CivilSecond cs = absl::ToCivilSecond(t, absl::UTCTimeZone());
  const int64_t micros = (t - absl::FromCivil(cs, absl::UTCTimeZone())) / absl::Microseconds(1);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02d:%02d:%02d.%06lldZ",
                static_cast<long long>(cs.year()), cs.month(), cs.day(), cs.hour(), cs.minute(),
                cs.second(), static_cast<long long>(micros));
  return buf;
}

// What LeafTime keeps of `t`.
inline absl::Time FloorMicros(absl::Time t) {
  return absl::UnixEpoch() + absl::Floor(t - absl::UnixEpoch(), absl::Microseconds(1));
}

inline void PutString(JsonWriter& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

inline void PutTime(JsonWriter& w, const char* key, const std::optional<absl::Time>& t) {
  if (!t) return;
  PutString(w, key, LeafTime(*t));
}

inline std::string EncodeCredentialsResponse(const leaf::ProviderCredentials& c) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  PutString(w, "id", c.id);
  PutString(w, "status", c.status);
  PutTime(w, "createdTime", c.created_time);
  for (const leaf::CredentialField& f : c.fields) PutString(w, f.name.c_str(), f.value.Reveal());
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

inline std::string EncodeEventsResponse(const std::vector<leaf::CredentialEvent>& events) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartArray();
  for (const leaf::CredentialEvent& e : events) {
    w.StartObject();
    PutString(w, "id", e.id);
    PutTime(w, "createdDate", e.created_date);
    w.Key("statusCode");
    w.Int(e.status_code);
    PutString(w, "headers", e.headers);
    PutString(w, "body", e.body);
    w.EndObject();
  }
  w.EndArray();
  return std::string(buffer.GetString(), buffer.GetSize());
}

inline std::string EncodeProblemBody(const leaf::Problem& p) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  PutString(w, "type", p.type);
  PutString(w, "title", p.title);
  PutString(w, "detail", p.detail);
  PutString(w, "message", p.message);
  PutString(w, "errorKey", p.error_key);
  PutString(w, "path", p.path);
  w.Key("fieldErrors");
  w.StartArray();
  for (const leaf::Problem::FieldError& f : p.field_errors) {
    w.StartObject();
    PutString(w, "objectName", f.object_name);
    PutString(w, "field", f.field);
    PutString(w, "message", f.message);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace leafsvc::fuzz

#endif  // TESTS_FUZZ_LEAF_JSON_WRITER_H_
