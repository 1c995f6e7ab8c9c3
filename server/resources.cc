#include "server/resources.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "server/util/redact_events.h"
#include "server/util/utf8.h"

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

}  // namespace

std::string SecretHint(const Secret& secret) {
  const std::string& value = secret.Reveal();
  if (value.empty()) return "";
  if (Utf8CharCount(value) < 12) return "****";
  // Whole characters: a hint cut inside one would not be valid UTF-8.
  return absl::StrCat("****", Utf8LastChars(value, 4));
}

std::string CanonicalLeafUserId(absl::string_view leaf_user_id) {
  return absl::AsciiStrToLower(leaf_user_id);
}

std::string CredentialsName(absl::string_view leaf_user_id) {
  return absl::StrCat("users/", leaf_user_id, "/agLeaderCredentials");
}

v1::CredentialStatus ToCredentialStatus(absl::string_view s) {
  if (s == "OK") return v1::CREDENTIAL_STATUS_OK;
  if (s == "UNAUTHENTICATED") return v1::CREDENTIAL_STATUS_UNAUTHENTICATED;
  if (s == "MISSING_PERMISSION") return v1::CREDENTIAL_STATUS_MISSING_PERMISSION;
  if (s == "TEMPORARILY_UNAVAILABLE") return v1::CREDENTIAL_STATUS_TEMPORARILY_UNAVAILABLE;
  return v1::CREDENTIAL_STATUS_UNSPECIFIED;
}

void ToProto(const leafsvc::leaf::ProviderCredentials& in, absl::string_view leaf_user_id,
             v1::CredentialsView view, v1::Credentials* out) {
  out->set_name(CredentialsName(leaf_user_id));
  out->set_id(in.id);
  out->set_leaf_user_id(std::string(leaf_user_id));
  out->set_status(ToCredentialStatus(in.status));
  out->set_leaf_status(in.status);
  if (in.created_time.has_value()) SetTimestamp(*in.created_time, out->mutable_create_time());
  out->set_public_key(in.public_key);
  out->set_refresh_token_hint(SecretHint(in.refresh_token));
  out->set_private_key_hint(SecretHint(in.private_key));
  out->set_access_token_hint(SecretHint(in.access_token));
  if (view == v1::CREDENTIALS_VIEW_FULL) {
    out->set_refresh_token(in.refresh_token.Reveal());
    out->set_private_key(in.private_key.Reveal());
    out->set_access_token(in.access_token.Reveal());
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

leafsvc::leaf::NewProviderCredentials FromProto(const v1::CreateCredentialsRequest& request) {
  leafsvc::leaf::NewProviderCredentials credentials;
  credentials.refresh_token = Secret(request.refresh_token());
  credentials.public_key = request.public_key();
  credentials.private_key = Secret(request.private_key());
  credentials.access_token = Secret(request.access_token());
  return credentials;
}

}  // namespace leafsvc
