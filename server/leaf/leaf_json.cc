#include "server/leaf/leaf_json.h"

#include <cstdint>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "server/json/untrusted_json.h"
#include "server/leaf/timestamp.h"
#include "server/observability/log.h"
#include "server/text/utf8.h"

namespace leafsvc::leaf {
namespace {

using rapidjson::Document;
using rapidjson::Value;

static_assert(kMaxLeafJsonDepth == json::kMaxDepth, "Leaf bodies are parsed with the common cap");

absl::Status Malformed(absl::string_view what, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", why));
}

// Leaf's bodies come from outside: parsed without RapidJSON's number
// arithmetic and with nesting capped (server/json/untrusted_json.h); trailing
// garbage is an error, and the text must be UTF-8 (RFC 8259), as what is
// decoded ends up in protobuf strings, which must be too.
absl::StatusOr<Document> ParseJson(absl::string_view json, absl::string_view what) {
  Document doc;
  if (absl::Status st = json::ParseUntrusted(json, doc); !st.ok()) {
    return Malformed(what, st.message());
  }
  return doc;
}

// Reads an optional string member: absent or null leaves `out` empty; any
// other non-string type is an error.
absl::Status ReadString(const Value& obj, const char* name, absl::string_view what,
                        std::string* out) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || it->value.IsNull()) return absl::OkStatus();
  if (!it->value.IsString()) {
    return Malformed(what, absl::StrCat("field \"", name, "\" is not a string"));
  }
  absl::string_view value(it->value.GetString(), it->value.GetStringLength());
  // RapidJSON validates the raw bytes but turns an escaped lone low
  // surrogate ("\udc00") into invalid UTF-8; protobuf strings must be valid.
  if (IsValidUtf8(value)) {
    out->assign(value.data(), value.size());
  } else {
    *out = ValidUtf8(value);
  }
  return absl::OkStatus();
}

absl::Status ReadSecret(const Value& obj, const char* name, absl::string_view what, Secret* out) {
  std::string value;
  absl::Status st = ReadString(obj, name, what, &value);
  if (st.ok()) *out = Secret(std::move(value));
  return st;
}

absl::Status ReadTime(const Value& obj, const char* name, absl::string_view what,
                      std::optional<absl::Time>* out) {
  std::string text;
  absl::Status st = ReadString(obj, name, what, &text);
  if (!st.ok() || text.empty()) return st;
  absl::StatusOr<absl::Time> t = ParseLeafTimestamp(text);
  if (!t.ok()) {
    return Malformed(what, absl::StrCat("field \"", name, "\": ", t.status().message()));
  }
  // google.protobuf.Timestamp's range; other languages' clients refuse
  // anything outside it.
  static const absl::Time kFirst =
      absl::FromCivil(absl::CivilSecond(1, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  static const absl::Time kEnd =
      absl::FromCivil(absl::CivilSecond(10000, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  if (*t < kFirst || *t >= kEnd) {
    return Malformed(what, absl::StrCat("field \"", name, "\" is outside years 0001-9999"));
  }
  *out = *t;
  return absl::OkStatus();
}

#define RETURN_IF_ERROR(expr)  \
  do {                         \
    absl::Status _st = (expr); \
    if (!_st.ok()) return _st; \
  } while (0)

// Ids go into resource names: only URL-safe characters (UUIDs and numbers).
bool IsEventId(absl::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '~' &&
        c != '-') {
      return false;
    }
  }
  return true;
}

absl::StatusOr<CredentialEvent> DecodeEvent(const Value& v, size_t index) {
  std::string what = absl::StrCat("Leaf's events response, element ", index);
  if (!v.IsObject()) return Malformed(what, "not a JSON object");
  CredentialEvent event;
  // Leaf documents the id as a string; tolerate a number.
  auto id = v.FindMember("id");
  if (id != v.MemberEnd() && id->value.IsNumber()) {
    const std::optional<int64_t> n = json::NumberAsInt64(id->value);
    event.id = n ? absl::StrCat(*n) : absl::StrCat(json::NumberAsDouble(id->value).value_or(0));
  } else {
    RETURN_IF_ERROR(ReadString(v, "id", what, &event.id));
  }
  RETURN_IF_ERROR(ReadTime(v, "createdDate", what, &event.created_date));
  auto code = v.FindMember("statusCode");
  if (code != v.MemberEnd() && !code->value.IsNull()) {
    std::optional<int64_t> n = json::NumberAsInt64(code->value);
    if (!n || *n < std::numeric_limits<int>::min() || *n > std::numeric_limits<int>::max()) {
      return Malformed(what, "field \"statusCode\" is not an integer");
    }
    event.status_code = static_cast<int>(*n);
  }
  if (!IsEventId(event.id)) {
    return Malformed(what, "field \"id\" is missing or not 1-128 of [A-Za-z0-9._~-]");
  }
  RETURN_IF_ERROR(ReadString(v, "headers", what, &event.headers));
  RETURN_IF_ERROR(ReadString(v, "body", what, &event.body));
  return event;
}

void WriteString(rapidjson::Writer<rapidjson::StringBuffer>& w, const char* key,
                 absl::string_view value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

}  // namespace

absl::StatusOr<ProviderCredentials> DecodeCredentials(absl::string_view json,
                                                      const providers::ProviderSpec& provider) {
  constexpr absl::string_view kWhat = "Leaf's credentials response";
  absl::StatusOr<Document> doc = ParseJson(json, kWhat);
  if (!doc.ok()) return doc.status();
  if (!doc->IsObject()) return Malformed(kWhat, "not a JSON object");
  ProviderCredentials c;
  RETURN_IF_ERROR(ReadString(*doc, "id", kWhat, &c.id));
  if (c.id.empty()) return Malformed(kWhat, "field \"id\" is missing");
  RETURN_IF_ERROR(ReadString(*doc, "status", kWhat, &c.status));
  RETURN_IF_ERROR(ReadTime(*doc, "createdTime", kWhat, &c.created_time));
  c.provider = &provider;
  c.fields.reserve(provider.fields.size());
  for (const providers::FieldSpec& spec : provider.fields) {
    CredentialField field;
    field.name = spec.json_name;
    field.secret = spec.secret;
    RETURN_IF_ERROR(ReadSecret(*doc, spec.json_name.c_str(), kWhat, &field.value));
    c.fields.push_back(std::move(field));
  }
  return c;
}

absl::StatusOr<std::vector<CredentialEvent>> DecodeEvents(absl::string_view json) {
  constexpr absl::string_view kWhat = "Leaf's events response";
  absl::StatusOr<Document> doc = ParseJson(json, kWhat);
  if (!doc.ok()) return doc.status();
  // Leaf answers a bare array; tolerate a paged {"content": [...]} wrapper.
  const Value* array = doc.operator->();
  if (doc->IsObject()) {
    auto content = doc->FindMember("content");
    if (content != doc->MemberEnd()) array = &content->value;
  }
  if (!array->IsArray()) return Malformed(kWhat, "not a JSON array");
  std::vector<CredentialEvent> events;
  events.reserve(array->Size());
  for (rapidjson::SizeType i = 0; i < array->Size(); ++i) {
    absl::StatusOr<CredentialEvent> e = DecodeEvent((*array)[i], i);
    if (!e.ok()) {
      // One bad event must not hide the others: it is left out and logged
      // (the error names the element and field, never the value).
      Log(LogLevel::kWarning, "skipped a malformed event in Leaf's events response",
          {{"element", static_cast<int64_t>(i)}, {"error", e.status().message()}});
      continue;
    }
    events.push_back(*std::move(e));
  }
  return events;
}

absl::StatusOr<Secret> DecodeLoginResponse(absl::string_view json) {
  constexpr absl::string_view kWhat = "Leaf's login response";
  absl::StatusOr<Document> doc = ParseJson(json, kWhat);
  if (!doc.ok()) return doc.status();
  if (!doc->IsObject()) return Malformed(kWhat, "not a JSON object");
  std::string token;
  RETURN_IF_ERROR(ReadString(*doc, "id_token", kWhat, &token));
  if (token.empty()) return Malformed(kWhat, "field \"id_token\" is missing");
  return Secret(std::move(token));
}

std::optional<Problem> DecodeProblem(absl::string_view json) {
  Document doc;
  if (!json::ParseUntrusted(json, doc).ok() || !doc.IsObject()) return std::nullopt;
  Problem p;
  constexpr absl::string_view kWhat = "problem";
  // Wrong-typed fields are skipped: a problem body is best effort.
  (void)ReadString(doc, "type", kWhat, &p.type);
  (void)ReadString(doc, "title", kWhat, &p.title);
  (void)ReadString(doc, "detail", kWhat, &p.detail);
  (void)ReadString(doc, "message", kWhat, &p.message);
  (void)ReadString(doc, "errorKey", kWhat, &p.error_key);
  (void)ReadString(doc, "path", kWhat, &p.path);
  auto fields = doc.FindMember("fieldErrors");
  if (fields != doc.MemberEnd() && fields->value.IsArray()) {
    for (const Value& f : fields->value.GetArray()) {
      if (!f.IsObject()) continue;
      Problem::FieldError fe;
      (void)ReadString(f, "objectName", kWhat, &fe.object_name);
      (void)ReadString(f, "field", kWhat, &fe.field);
      (void)ReadString(f, "message", kWhat, &fe.message);
      p.field_errors.push_back(std::move(fe));
    }
  }
  return p;
}

std::string Problem::Summary() const {
  std::string text = !detail.empty() ? detail : !title.empty() ? title : message;
  for (const FieldError& f : field_errors) {
    absl::StrAppend(&text, text.empty() ? "" : "; ", f.field, ": ", f.message);
  }
  return text;
}

std::string EncodeCreateCredentials(const NewProviderCredentials& credentials,
                                    const providers::ProviderSpec& provider) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  for (const providers::FieldSpec& spec : provider.fields) {
    const CredentialField* field = FindField(credentials.fields, spec.json_name);
    const bool empty = field == nullptr || field->value.empty();
    if (empty && !spec.required) continue;
    WriteString(w, spec.json_name.c_str(), empty ? absl::string_view() : field->value.Reveal());
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string EncodeLogin(absl::string_view username, const Secret& password, bool remember_me) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  WriteString(w, "username", username);
  WriteString(w, "password", password.Reveal());
  // Documented as a string; Leaf's own clients also send a boolean.
  WriteString(w, "rememberMe", remember_me ? "true" : "false");
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace leafsvc::leaf
