#include "server/resources.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace leafsvc {
namespace {

namespace v1 = ::leaf::agleader::v1;

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
}

}  // namespace

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

void ToProto(const leafsvc::leaf::AgLeaderCredentials& in, absl::string_view leaf_user_id,
             v1::CredentialsView view, v1::Credentials* out) {
  out->set_name(CredentialsName(leaf_user_id));
  out->set_id(in.id);
  out->set_leaf_user_id(std::string(leaf_user_id));
  out->set_status(ToCredentialStatus(in.status));
  out->set_leaf_status(in.status);
  if (in.created_time.has_value()) SetTimestamp(*in.created_time, out->mutable_create_time());
  out->set_public_key(in.public_key);
  out->set_refresh_token_hint(in.refresh_token.Hint());
  out->set_private_key_hint(in.private_key.Hint());
  out->set_access_token_hint(in.access_token.Hint());
  if (view == v1::CREDENTIALS_VIEW_FULL) {
    out->set_refresh_token(in.refresh_token.Reveal());
    out->set_private_key(in.private_key.Reveal());
    out->set_access_token(in.access_token.Reveal());
  }
}

void ToProto(const leafsvc::leaf::CredentialEvent& in, absl::string_view leaf_user_id,
             v1::CredentialEvent* out) {
  out->set_name(absl::StrCat(CredentialsName(leaf_user_id), "/events/", in.id));
  out->set_id(in.id);
  if (in.created_date.has_value()) SetTimestamp(*in.created_date, out->mutable_create_time());
  out->set_status_code(in.status_code);
  out->set_headers(in.headers);
  out->set_body(in.body);
}

}  // namespace leafsvc
