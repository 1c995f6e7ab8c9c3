#include "server/edge/resources.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/timestamp.pb.h"
#include "server/providers/agleader/agleader_spec.h"
#include "server/secrets/redact_events.h"
#include "server/text/utf8.h"

namespace leafsvc {
namespace {

namespace v1 = ::leaf::agleader::v1;

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  out->set_seconds(seconds);
  out->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
}

// An event id as a resource-name segment: characters outside
// [A-Za-z0-9._~-] (which Leaf's UUIDs never use) are percent-encoded, so an
// id cannot add segments ("/") or forge a name.
std::string NameSegment(absl::string_view id) {
  std::string out;
  for (unsigned char c : id) {
    if (absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '~' || c == '-') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

// The string field `name` of `message`'s type; nullptr when it has none (a
// spec naming a field the proto lacks: resources_test checks every spec it
// knows, so the field is then left alone rather than crashing a call).
const google::protobuf::FieldDescriptor* StringField(const google::protobuf::Message& message,
                                                     const std::string& name) {
  const google::protobuf::FieldDescriptor* f = message.GetDescriptor()->FindFieldByName(name);
  if (f == nullptr || f->is_repeated() ||
      f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_STRING) {
    return nullptr;
  }
  return f;
}

void SetString(google::protobuf::Message* message, const std::string& field,
               const std::string& value) {
  if (const google::protobuf::FieldDescriptor* f = StringField(*message, field)) {
    message->GetReflection()->SetString(message, f, value);
  }
}

}  // namespace

std::string SecretHint(const Secret& secret) {
  const std::string& value = secret.Reveal();
  if (value.empty()) return "";
  if (Utf8CharCount(value) < 12) return "****";
  // Whole characters: a hint cut inside one would not be valid UTF-8.
  return absl::StrCat("****", Utf8LastChars(value, 4));
}

std::string CredentialsName(absl::string_view leaf_user_id) {
  return absl::StrCat("users/", leaf_user_id, "/agLeaderCredentials");
}

v1::CredentialStatus ToCredentialStatus(absl::string_view s,
                                        const providers::ProviderSpec& provider) {
  const providers::StatusSpec* status = provider.FindStatus(s);
  if (status == nullptr) return v1::CREDENTIAL_STATUS_UNSPECIFIED;
  const google::protobuf::EnumValueDescriptor* value =
      v1::CredentialStatus_descriptor()->FindValueByName(status->proto_enum_name);
  return value == nullptr ? v1::CREDENTIAL_STATUS_UNSPECIFIED
                          : static_cast<v1::CredentialStatus>(value->number());
}

v1::CredentialStatus ToCredentialStatus(absl::string_view s) {
  return ToCredentialStatus(s, providers::AgLeaderSpec());
}

void ToProto(const leafsvc::leaf::ProviderCredentials& in, absl::string_view leaf_user_id,
             v1::CredentialsView view, v1::Credentials* out) {
  ToProto(in, leaf_user_id, view, in.provider != nullptr ? *in.provider : providers::AgLeaderSpec(),
          out);
}

void ToProto(const leafsvc::leaf::ProviderCredentials& in, absl::string_view leaf_user_id,
             v1::CredentialsView view, const providers::ProviderSpec& provider,
             v1::Credentials* out) {
  out->set_name(CredentialsName(leaf_user_id));
  out->set_id(in.id);
  out->set_leaf_user_id(std::string(leaf_user_id));
  out->set_status(ToCredentialStatus(in.status, provider));
  out->set_leaf_status(in.status);
  if (in.created_time.has_value()) SetTimestamp(*in.created_time, out->mutable_create_time());
  static const Secret kEmpty;
  for (const providers::FieldSpec& spec : provider.fields) {
    const leafsvc::leaf::CredentialField* field =
        leafsvc::leaf::FindField(in.fields, spec.json_name);
    const Secret& value = field != nullptr ? field->value : kEmpty;
    if (!spec.secret) {
      SetString(out, spec.proto_field, value.Reveal());
      continue;
    }
    const bool withheld = field != nullptr && value.empty() && !field->hint.empty();
    SetString(out, absl::StrCat(spec.proto_field, "_hint"),
              withheld ? field->hint : SecretHint(value));
    if (view == v1::CREDENTIALS_VIEW_FULL) SetString(out, spec.proto_field, value.Reveal());
  }
}

void ToProto(const leafsvc::leaf::CredentialEvent& in, absl::string_view leaf_user_id,
             v1::CredentialsView view, v1::CredentialEvent* out) {
  out->set_name(absl::StrCat(CredentialsName(leaf_user_id), "/events/", NameSegment(in.id)));
  out->set_id(in.id);
  if (in.created_date.has_value()) SetTimestamp(*in.created_date, out->mutable_create_time());
  out->set_status_code(in.status_code);
  if (view == v1::CREDENTIALS_VIEW_FULL) {
    out->set_headers(in.headers);
    out->set_body(in.body);
  } else {
    out->set_headers(RedactEventText(in.headers));
    out->set_body(RedactEventText(in.body));
  }
}

leafsvc::leaf::NewProviderCredentials FromProto(const v1::CreateCredentialsRequest& request,
                                                const providers::ProviderSpec& provider) {
  leafsvc::leaf::NewProviderCredentials credentials;
  credentials.fields.reserve(provider.fields.size());
  for (const providers::FieldSpec& spec : provider.fields) {
    leafsvc::leaf::CredentialField field;
    field.name = spec.json_name;
    field.secret = spec.secret;
    if (const google::protobuf::FieldDescriptor* f = StringField(request, spec.proto_field)) {
      field.value = Secret(request.GetReflection()->GetString(request, f));
    }
    credentials.fields.push_back(std::move(field));
  }
  return credentials;
}

leafsvc::leaf::NewProviderCredentials FromProto(const v1::CreateCredentialsRequest& request) {
  return FromProto(request, providers::AgLeaderSpec());
}

}  // namespace leafsvc
