#include "emulator/leaf_json.h"

#include "emulator/json.h"

namespace leafemu {

std::string CredentialsJson(const StoredCredentials& c) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  WriteKey(w, "id");
  WriteString(w, c.id);
  WriteKey(w, "status");
  WriteString(w, c.status);
  WriteKey(w, "createdTime");
  WriteString(w, c.created_time);
  WriteKey(w, "accessToken");
  if (c.access_token.empty()) {
    w.Null();
  } else {
    WriteString(w, c.access_token);
  }
  WriteKey(w, "refreshToken");
  WriteString(w, c.refresh_token);
  WriteKey(w, "publicKey");
  WriteString(w, c.public_key);
  WriteKey(w, "privateKey");
  WriteString(w, c.private_key);
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
