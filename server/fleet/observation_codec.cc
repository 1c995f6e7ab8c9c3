#include "server/fleet/observation_codec.h"

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"
#include "server/json/untrusted_json.h"
#include "server/text/utf8.h"

namespace leafsvc::fleet {
namespace {

using watch::Observation;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// A record is 3 levels deep; anything deeper is not ours.
constexpr int kMaxDepth = 8;

absl::string_view KindName(Observation::Kind kind) {
  switch (kind) {
    case Observation::Kind::kPresent:
      return "present";
    case Observation::Kind::kAbsent:
      return "absent";
    case Observation::Kind::kError:
      return "error";
    case Observation::Kind::kNotRead:
      return "not_read";
  }
  return "error";
}

std::optional<Observation::Kind> KindFromName(absl::string_view name) {
  if (name == "present") return Observation::Kind::kPresent;
  if (name == "absent") return Observation::Kind::kAbsent;
  if (name == "error") return Observation::Kind::kError;
  if (name == "not_read") return Observation::Kind::kNotRead;
  return std::nullopt;
}

// As the edge's SecretHint: whole characters, so the hint stays UTF-8.
std::string HintOf(const leaf::CredentialField& field) {
  const std::string& value = field.value.Reveal();
  if (value.empty()) return field.hint;
  if (!IsValidUtf8(value) || Utf8CharCount(value) < 12) return "****";
  return absl::StrCat("****", Utf8LastChars(value, 4));
}

void String(Writer& w, absl::string_view text) {
  if (IsValidUtf8(text)) {
    w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  } else {
    const std::string valid = ValidUtf8(text);
    w.String(valid.data(), static_cast<rapidjson::SizeType>(valid.size()));
  }
}

void WriteCredentials(Writer& w, const leaf::ProviderCredentials& c) {
  w.StartObject();
  w.Key("id");
  String(w, c.id);
  w.Key("status");
  String(w, c.status);
  if (c.created_time.has_value()) {
    w.Key("created_us");
    w.Int64(absl::ToUnixMicros(*c.created_time));
  }
  w.Key("fields");
  w.StartArray();
  for (const leaf::CredentialField& f : c.fields) {
    w.StartObject();
    w.Key("name");
    String(w, f.name);
    if (f.secret) {
      // Never the value: Redis is outside the process.
      w.Key("hint");
      String(w, HintOf(f));
    } else {
      w.Key("value");
      String(w, f.value.Reveal());
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

void WriteError(Writer& w, const absl::Status& raw) {
  const absl::Status status = RedactSecrets(raw, {});
  const StatusDetails d = GetStatusDetails(status);
  w.StartObject();
  w.Key("code");
  w.Int(static_cast<int>(status.code()));
  w.Key("message");
  String(w, status.message());
  if (!d.reason.empty()) {
    w.Key("reason");
    String(w, d.reason);
  }
  if (!d.metadata.empty()) {
    w.Key("metadata");
    w.StartObject();
    for (const auto& [k, v] : d.metadata) {
      String(w, k);
      String(w, v);
    }
    w.EndObject();
  }
  if (!d.field_violations.empty()) {
    w.Key("violations");
    w.StartArray();
    for (const FieldViolation& v : d.field_violations) {
      w.StartArray();
      String(w, v.field);
      String(w, v.description);
      w.EndArray();
    }
    w.EndArray();
  }
  if (d.retry_delay.has_value()) {
    w.Key("retry_ms");
    w.Int64(absl::ToInt64Milliseconds(*d.retry_delay));
  }
  w.EndObject();
}

absl::Status Bad(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("shared watch record: ", what));
}

// The member `name` of object `o` if it is a string (absent: nullopt, and
// *bad set when present with another type).
std::optional<std::string> StringMember(const rapidjson::Value& o, const char* name, bool* bad) {
  auto it = o.FindMember(name);
  if (it == o.MemberEnd()) return std::nullopt;
  if (!it->value.IsString()) {
    *bad = true;
    return std::nullopt;
  }
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::optional<std::int64_t> IntMember(const rapidjson::Value& o, const char* name, bool* bad) {
  auto it = o.FindMember(name);
  if (it == o.MemberEnd()) return std::nullopt;
  std::optional<std::int64_t> v = json::NumberAsInt64(it->value);
  if (!v.has_value()) *bad = true;
  return v;
}

absl::StatusOr<leaf::ProviderCredentials> ReadCredentials(const rapidjson::Value& c,
                                                          const providers::ProviderSpec* provider) {
  if (!c.IsObject()) return Bad("credentials are not an object");
  bool bad = false;
  leaf::ProviderCredentials out;
  std::optional<std::string> id = StringMember(c, "id", &bad);
  std::optional<std::string> status = StringMember(c, "status", &bad);
  std::optional<std::int64_t> created = IntMember(c, "created_us", &bad);
  if (bad || !id.has_value() || !status.has_value()) return Bad("credentials need id and status");
  out.id = *std::move(id);
  out.status = *std::move(status);
  if (created.has_value()) out.created_time = absl::FromUnixMicros(*created);
  auto fields = c.FindMember("fields");
  if (fields != c.MemberEnd()) {
    if (!fields->value.IsArray()) return Bad("fields are not an array");
    for (const rapidjson::Value& f : fields->value.GetArray()) {
      if (!f.IsObject()) return Bad("a field is not an object");
      std::optional<std::string> name = StringMember(f, "name", &bad);
      std::optional<std::string> value = StringMember(f, "value", &bad);
      std::optional<std::string> hint = StringMember(f, "hint", &bad);
      if (bad || !name.has_value() || value.has_value() == hint.has_value()) {
        return Bad("a field needs a name and a value or a hint");
      }
      leaf::CredentialField field;
      field.name = *std::move(name);
      field.secret = hint.has_value();
      if (value.has_value()) field.value = Secret(*std::move(value));
      if (hint.has_value()) field.hint = *std::move(hint);
      out.fields.push_back(std::move(field));
    }
  }
  out.provider = provider;
  return out;
}

// Rebuilds the status into *out (a StatusOr<Status> would take an error
// status for a value).
absl::Status ReadError(const rapidjson::Value& e, absl::Status* out) {
  if (!e.IsObject()) return Bad("error is not an object");
  bool bad = false;
  std::optional<std::int64_t> code = IntMember(e, "code", &bad);
  std::optional<std::string> message = StringMember(e, "message", &bad);
  std::optional<std::string> reason = StringMember(e, "reason", &bad);
  std::optional<std::int64_t> retry_ms = IntMember(e, "retry_ms", &bad);
  if (bad || !code.has_value() || *code < 0 || *code > 16) return Bad("error needs a valid code");
  if (retry_ms.has_value() && (*retry_ms < 0 || *retry_ms > 24 * 3600 * 1000)) {
    return Bad("retry_ms out of range");
  }
  // The reason is a row of the table (every site makes its errors from
  // one); a record naming another is not one this service wrote.
  const Reason* row = nullptr;
  if (reason.has_value()) {
    row = FindReason(*reason);
    if (row == nullptr) return Bad("error names an unknown reason");
  }
  StatusDetails d;
  if (retry_ms.has_value()) d.retry_delay = absl::Milliseconds(*retry_ms);
  auto md = e.FindMember("metadata");
  if (md != e.MemberEnd()) {
    if (!md->value.IsObject()) return Bad("metadata is not an object");
    for (const auto& m : md->value.GetObject()) {
      if (!m.value.IsString()) return Bad("a metadata value is not a string");
      d.metadata[std::string(m.name.GetString(), m.name.GetStringLength())] =
          std::string(m.value.GetString(), m.value.GetStringLength());
    }
  }
  auto vs = e.FindMember("violations");
  if (vs != e.MemberEnd()) {
    if (!vs->value.IsArray()) return Bad("violations are not an array");
    for (const rapidjson::Value& v : vs->value.GetArray()) {
      if (!v.IsArray() || v.Size() != 2 || !v[0].IsString() || !v[1].IsString()) {
        return Bad("a violation is not [field, description]");
      }
      d.field_violations.push_back({std::string(v[0].GetString(), v[0].GetStringLength()),
                                    std::string(v[1].GetString(), v[1].GetStringLength())});
    }
  }
  const auto c = static_cast<absl::StatusCode>(*code);
  const std::string msg = message.value_or("");
  if (c == absl::StatusCode::kOk) {
    *out = absl::OkStatus();
    return absl::OkStatus();
  }
  if (row != nullptr) {
    *out = c == row->code ? MakeError(*row, msg, std::move(d))
                          : MakeErrorWithOtherCode(*row, msg, std::move(d));
    return absl::OkStatus();
  }
  const bool plain = d.metadata.empty() && d.field_violations.empty() && !d.retry_delay.has_value();
  *out = plain ? absl::Status(c, msg) : MakeStatus(c, msg, d);
  return absl::OkStatus();
}

}  // namespace

std::string EncodeObservation(const Observation& o) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("kind");
  String(w, KindName(o.kind));
  if (o.kind == Observation::Kind::kPresent) {
    w.Key("credentials");
    WriteCredentials(w, o.credentials);
  }
  if ((o.kind == Observation::Kind::kError || o.kind == Observation::Kind::kNotRead) &&
      !o.error.ok()) {
    w.Key("error");
    WriteError(w, o.error);
  }
  if (o.version != 0) {
    w.Key("version");
    w.Uint64(o.version);
  }
  if (o.known_since.has_value()) {
    w.Key("known_since");
    String(w, o.known_since->ToString());
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

absl::StatusOr<Observation> DecodeObservation(absl::string_view text,
                                              const providers::ProviderSpec* provider) {
  rapidjson::Document doc;
  if (absl::Status s = json::ParseUntrusted(text, doc, kMaxDepth); !s.ok()) {
    return Bad(s.message());
  }
  if (!doc.IsObject()) return Bad("not an object");
  bool bad = false;
  std::optional<std::string> kind_name = StringMember(doc, "kind", &bad);
  std::optional<std::int64_t> version = IntMember(doc, "version", &bad);
  std::optional<std::string> known_since = StringMember(doc, "known_since", &bad);
  if (bad) return Bad("a member has the wrong type");
  if (!kind_name.has_value()) return Bad("no kind");
  std::optional<Observation::Kind> kind = KindFromName(*kind_name);
  if (!kind.has_value()) return Bad("unknown kind");
  Observation o;
  o.kind = *kind;
  if (version.has_value()) {
    if (*version < 0) return Bad("negative version");
    o.version = static_cast<std::uint64_t>(*version);
  }
  if (known_since.has_value()) {
    o.known_since = watch::ChangePosition::Parse(*known_since);
    if (!o.known_since.has_value()) return Bad("known_since is not a stream id");
  }
  if (o.kind == Observation::Kind::kPresent) {
    auto c = doc.FindMember("credentials");
    if (c == doc.MemberEnd()) return Bad("present without credentials");
    absl::StatusOr<leaf::ProviderCredentials> creds = ReadCredentials(c->value, provider);
    if (!creds.ok()) return creds.status();
    o.credentials = *std::move(creds);
  }
  if (o.kind == Observation::Kind::kError || o.kind == Observation::Kind::kNotRead) {
    auto e = doc.FindMember("error");
    if (e != doc.MemberEnd()) {
      if (absl::Status s = ReadError(e->value, &o.error); !s.ok()) return s;
    }
  }
  return o;
}

std::string Fingerprint(const Observation& o) {
  // Length-prefixed parts: no id or status can pass for another split.
  auto part = [](absl::string_view s) { return absl::StrCat(s.size(), ":", s, ";"); };
  switch (o.kind) {
    case Observation::Kind::kPresent:
      return absl::StrCat("present;", part(o.credentials.id), part(o.credentials.status));
    case Observation::Kind::kError:
      return absl::StrCat("error;", static_cast<int>(o.error.code()), ";",
                          part(GetStatusDetails(o.error).reason));
    case Observation::Kind::kAbsent:
      return "absent;";
    case Observation::Kind::kNotRead:
      return "not_read;";
  }
  return "";
}

}  // namespace leafsvc::fleet
