#include "emulator/leaf_json.h"

#include "emulator/json.h"

namespace leafemu {

std::string CredentialsJson(const StoredCredentials& c, const ProviderSpec& provider) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  WriteKey(w, "id");
  WriteString(w, c.id);
  WriteKey(w, "status");
  WriteString(w, c.status);
  WriteKey(w, "createdTime");
  WriteString(w, c.created_time);
  for (const auto& field : provider.fields) {
    const std::string value = c.Field(field.json_name);
    WriteKey(w, field.json_name);
    if (value.empty() && !field.required) {
      w.Null();
    } else {
      WriteString(w, value);
    }
  }
  w.EndObject();
  return buf.GetString();
}

std::string EventsJson(const std::vector<StoredEvent>& events) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartArray();
  for (const StoredEvent& e : events) {
    w.StartObject();
    WriteKey(w, "id");
    WriteString(w, e.id);
    WriteKey(w, "createdDate");
    WriteString(w, e.created_date);
    WriteKey(w, "statusCode");
    w.Int(e.status_code);
    WriteKey(w, "headers");
    WriteString(w, e.headers);
    WriteKey(w, "body");
    WriteString(w, e.body);
    w.EndObject();
  }
  w.EndArray();
  return buf.GetString();
}

}  // namespace leafemu
