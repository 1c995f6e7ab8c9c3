#include "client/connect_output.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/text_output.h"
#include "google/protobuf/util/time_util.h"
#include "google/rpc/error_details.pb.h"

namespace leafsvc::client {
namespace {

namespace v1 = ::leaf::agleader::v1;

void AppendField(std::string* out, absl::string_view label, absl::string_view value) {
  constexpr int kWidth = 16;  // "credentials id: "
  absl::StrAppendFormat(out, "%-*s%s\n", kWidth, absl::StrCat(label, ":"), value);
}

std::string OrNone(absl::string_view value) { return value.empty() ? "(none)" : Printable(value); }

std::string TimeOrUnknown(bool has_time, const google::protobuf::Timestamp& time) {
  return has_time ? google::protobuf::util::TimeUtil::ToString(time) : "(unknown)";
}

}  // namespace

std::string ConnectLinkStateName(v1::ConnectLink::State state) {
  if (state == v1::ConnectLink::STATE_UNSPECIFIED || !v1::ConnectLink::State_IsValid(state)) {
    return absl::StrCat("STATE_", static_cast<int>(state));
  }
  return v1::ConnectLink::State_Name(state);
}

std::string ConnectLinkErrorReason(const v1::ConnectLink& link) {
  if (!link.has_error()) return "";
  for (const auto& any : link.error().details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info) && !info.reason().empty()) return Printable(info.reason());
  }
  return absl::StrCat("CODE_", link.error().code());
}

std::string FormatConnectLink(const v1::ConnectLink& link) {
  std::string out;
  AppendField(&out, "url", OrNone(link.url()));
  AppendField(&out, "name", OrNone(link.name()));
  AppendField(&out, "leaf user id", OrNone(link.leaf_user_id()));
  AppendField(&out, "state", ConnectLinkStateName(link.state()));
  AppendField(&out, "expires", TimeOrUnknown(link.has_expire_time(), link.expire_time()));
  AppendField(&out, "created", TimeOrUnknown(link.has_create_time(), link.create_time()));
  AppendField(&out, "updated", TimeOrUnknown(link.has_update_time(), link.update_time()));
  if (!link.return_url().empty()) AppendField(&out, "return url", Printable(link.return_url()));
  if (!link.credentials_id().empty()) {
    AppendField(&out, "credentials id", Printable(link.credentials_id()));
  }
  if (link.has_error()) {
    AppendField(&out, "error",
                absl::StrCat(ConnectLinkErrorReason(link), ": ", OrNone(link.error().message())));
  }
  return out;
}

}  // namespace leafsvc::client
