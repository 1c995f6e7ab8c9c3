#include "emulator/control_json.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "emulator/faults.h"
#include "emulator/json.h"

namespace leafemu {
namespace {

// The "headers" member: an object of strings (numbers are accepted too).
absl::Status ReadHeaders(const rapidjson::Document& doc, Fault& f) {
  auto headers = doc.FindMember("headers");
  if (headers == doc.MemberEnd()) return absl::OkStatus();
  absl::Status bad = absl::InvalidArgumentError("headers must be an object of strings");
  if (!headers->value.IsObject()) return bad;
  for (auto& m : headers->value.GetObject()) {
    std::string value;
    if (m.value.IsString()) {
      value = m.value.GetString();
    } else if (m.value.IsNumber()) {
      value = m.value.IsInt64() ? std::to_string(m.value.GetInt64())
                                : std::to_string(m.value.GetDouble());
    } else {
      return bad;
    }
    f.headers[m.name.GetString()] = value;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Fault> FaultFromJson(const std::string& body) {
  rapidjson::Document doc;
  if (!ParseObject(body, doc)) return absl::InvalidArgumentError("body must be a JSON object");
  Fault f;
  if (auto kind = StringMember(doc, "kind")) {
    auto k = FaultKindFromName(*kind);
    if (!k) return absl::InvalidArgumentError(absl::StrCat("unknown fault kind '", *kind, "'"));
    f.kind = *k;
  }
  f.method = StringMember(doc, "method").value_or("");
  f.path_contains = StringMember(doc, "path_contains").value_or("");
  if (auto v = IntMember(doc, "times")) f.times = static_cast<int>(*v);
  auto probability = doc.FindMember("probability");
  if (probability != doc.MemberEnd()) {
    if (!probability->value.IsNumber() || probability->value.GetDouble() < 0 ||
        probability->value.GetDouble() > 1) {
      return absl::InvalidArgumentError("probability must be a number between 0 and 1");
    }
    f.probability = probability->value.GetDouble();
  }
  if (auto v = IntMember(doc, "latency_ms")) f.latency = absl::Milliseconds(*v);
  if (auto v = IntMember(doc, "status")) f.status = static_cast<int>(*v);
  f.body = StringMember(doc, "body").value_or("");
  if (absl::Status s = ReadHeaders(doc, f); !s.ok()) return s;
  if (auto v = IntMember(doc, "huge_bytes")) f.huge_bytes = *v;
  if (auto v = IntMember(doc, "drip_interval_ms")) f.drip_interval = absl::Milliseconds(*v);
  return f;
}

std::optional<StoredCredentials> CredentialsFromJson(const std::string& body,
                                                     const ProviderSpec& provider) {
  rapidjson::Document doc;
  if (!ParseObject(body, doc)) return std::nullopt;
  StoredCredentials c;
  c.id = StringMember(doc, "id").value_or("");
  c.status = StringMember(doc, "status").value_or("");
  c.created_time = StringMember(doc, "createdTime").value_or("");
  for (const auto& field : provider.fields) {
    if (auto v = StringMember(doc, field.json_name.c_str())) c.fields[field.json_name] = *v;
  }
  return c;
}

std::optional<StoredEvent> EventFromJson(const std::string& body) {
  rapidjson::Document doc;
  if (!ParseObject(body, doc)) return std::nullopt;
  StoredEvent e;
  e.id = StringMember(doc, "id").value_or("");
  e.created_date = StringMember(doc, "createdDate").value_or("");
  auto code = IntMember(doc, "statusCode");
  if (!code) code = IntMember(doc, "status_code");
  e.status_code = static_cast<int>(code.value_or(200));
  e.headers = StringMember(doc, "headers").value_or("");
  e.body = StringMember(doc, "body").value_or("");
  return e;
}

std::string RecordedRequestsJson(const std::vector<RecordedRequest>& requests) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartArray();
  for (const RecordedRequest& r : requests) {
    w.StartObject();
    WriteKey(w, "method");
    WriteString(w, r.method);
    WriteKey(w, "path");
    WriteString(w, r.path);
    WriteKey(w, "query");
    WriteString(w, r.query);
    WriteKey(w, "headers");
    w.StartObject();
    for (const auto& [k, v] : r.headers) {
      WriteKey(w, k);
      WriteString(w, v);
    }
    w.EndObject();
    WriteKey(w, "body");
    WriteString(w, r.body);
    WriteKey(w, "status");
    w.Int(r.status);
    w.EndObject();
  }
  w.EndArray();
  return buf.GetString();
}

std::optional<DuplicateCreateMode> DuplicateModeFromName(absl::string_view name) {
  std::string n = absl::AsciiStrToLower(name);
  if (n == "replace") return DuplicateCreateMode::kReplace;
  if (n == "bad_request" || n == "badrequest" || n == "400")
    return DuplicateCreateMode::kBadRequest;
  if (n == "conflict" || n == "409") return DuplicateCreateMode::kConflict;
  return std::nullopt;
}

const char* DuplicateModeName(DuplicateCreateMode mode) {
  switch (mode) {
    case DuplicateCreateMode::kReplace:
      return "replace";
    case DuplicateCreateMode::kBadRequest:
      return "bad_request";
    case DuplicateCreateMode::kConflict:
      return "conflict";
  }
  return "replace";
}

}  // namespace leafemu
