#include "client/text_output.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/time_util.h"

namespace leafsvc::client {
namespace {

using ::leaf::agleader::v1::CredentialEvent;
using ::leaf::agleader::v1::Credentials;
using ::leaf::agleader::v1::CredentialsView;
using ::leaf::agleader::v1::ListCredentialEventsResponse;

void AppendField(std::string* out, absl::string_view label, absl::string_view value, int width) {
  absl::StrAppendFormat(out, "%-*s%s\n", width, absl::StrCat(label, ":"), value);
}

std::string OrNone(absl::string_view value) { return value.empty() ? "(none)" : Printable(value); }

// A possibly multi-line value: "label:" alone and then each line indented,
// or "label:  (none)".
void AppendBlock(std::string* out, absl::string_view label, absl::string_view value, int width) {
  if (value.empty()) {
    AppendField(out, label, "(none)", width);
    return;
  }
  absl::StrAppend(out, label, ":\n");
  for (absl::string_view line : absl::StrSplit(value, '\n')) {
    absl::ConsumeSuffix(&line, "\r");
    absl::StrAppend(out, "    ", Printable(line), "\n");
  }
}

std::string TimeOrUnknown(bool has_time, const google::protobuf::Timestamp& time) {
  return has_time ? google::protobuf::util::TimeUtil::ToString(time) : "(unknown)";
}

}  // namespace

std::string Printable(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02x", u);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string FormatCredentials(const Credentials& credentials, CredentialsView view) {
  constexpr int kWidth = 15;  // "refresh token: "
  std::string out;
  AppendField(&out, "name", OrNone(credentials.name()), kWidth);
  AppendField(&out, "id", OrNone(credentials.id()), kWidth);
  AppendField(&out, "leaf user id", OrNone(credentials.leaf_user_id()), kWidth);
  AppendField(&out, "status",
              absl::StrCat(OrNone(credentials.leaf_status()), " (",
                           leaf::agleader::v1::CredentialStatus_Name(credentials.status()), ")"),
              kWidth);
  AppendField(&out, "created",
              TimeOrUnknown(credentials.has_create_time(), credentials.create_time()), kWidth);
  AppendField(&out, "public key", OrNone(credentials.public_key()), kWidth);
  AppendField(&out, "refresh token", OrNone(credentials.refresh_token_hint()), kWidth);
  AppendField(&out, "private key", OrNone(credentials.private_key_hint()), kWidth);
  AppendField(&out, "access token", OrNone(credentials.access_token_hint()), kWidth);
  if (view == leaf::agleader::v1::CREDENTIALS_VIEW_FULL) {
    // Only here: the user asked for the secret values.
    absl::StrAppend(&out, "secret values (full view):\n");
    AppendField(&out, "  refresh token", OrNone(credentials.refresh_token()), kWidth + 2);
    AppendField(&out, "  private key", OrNone(credentials.private_key()), kWidth + 2);
    AppendField(&out, "  access token", OrNone(credentials.access_token()), kWidth + 2);
  }
  return out;
}

std::string FormatEvent(const CredentialEvent& event) {
  constexpr int kWidth = 13;  // "status code: "
  std::string out;
  AppendField(&out, "time", TimeOrUnknown(event.has_create_time(), event.create_time()), kWidth);
  AppendField(&out, "status code", absl::StrCat(event.status_code()), kWidth);
  AppendField(&out, "id", OrNone(event.id()), kWidth);
  AppendBlock(&out, "headers", event.headers(), kWidth);
  AppendBlock(&out, "body", event.body(), kWidth);
  out.push_back('\n');
  return out;
}

std::string FormatEvents(const ListCredentialEventsResponse& response) {
  std::string out;
  if (response.events().empty()) out = "no events\n";
  for (const CredentialEvent& event : response.events()) {
    absl::StrAppend(&out, FormatEvent(event));
  }
  if (!response.next_page_token().empty()) {
    absl::StrAppend(&out, "next page token: ", Printable(response.next_page_token()), "\n");
  }
  return out;
}

std::string FormatDeleted(absl::string_view leaf_user_id) {
  return absl::StrCat("deleted AgLeader credentials of user ", Printable(leaf_user_id), "\n");
}

}  // namespace leafsvc::client
