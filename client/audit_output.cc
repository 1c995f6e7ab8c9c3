#include "client/audit_output.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "client/text_output.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace leafsvc::client {
namespace {

namespace v1 = ::leaf::agleader::v1;

std::string StatusName(v1::CredentialStatus status) {
  switch (status) {
    case v1::CREDENTIAL_STATUS_OK:
      return "OK";
    case v1::CREDENTIAL_STATUS_UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case v1::CREDENTIAL_STATUS_MISSING_PERMISSION:
      return "MISSING_PERMISSION";
    case v1::CREDENTIAL_STATUS_TEMPORARILY_UNAVAILABLE:
      return "TEMPORARILY_UNAVAILABLE";
    default:
      return "UNKNOWN";
  }
}

// A CSV cell holds text from the server (Leaf's raw status, ids): control
// bytes are escaped as in the table (a terminal shows the CSV too), and a
// cell a spreadsheet would run as a formula (one starting with = + - @, tab
// or CR) is prefixed with a quote, as OWASP recommends against CSV injection.
std::string CsvField(const std::string& raw) {
  std::string s = Printable(raw);
  if (!raw.empty() && absl::string_view("=+-@\t\r").find(raw[0]) != absl::string_view::npos) {
    s.insert(0, "'");
  }
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  return absl::StrCat("\"", absl::StrReplaceAll(s, {{"\"", "\"\""}}), "\"");
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string Or(const std::string& s, const char* fallback) { return s.empty() ? fallback : s; }

}  // namespace

AuditRow RowFromCredentials(const v1::Credentials& c) {
  AuditRow row;
  row.leaf_user_id = c.leaf_user_id();
  row.status = StatusName(c.status());
  row.leaf_status = c.leaf_status();
  if (c.has_create_time()) {
    row.create_time =
        absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(c.create_time().seconds()),
                         absl::UTCTimeZone());
  }
  // Hints only: a FULL-view response's secret fields are never read here.
  row.refresh_token_hint = c.refresh_token_hint();
  row.private_key_hint = c.private_key_hint();
  row.access_token_hint = c.access_token_hint();
  return row;
}

AuditRow RowFromError(const std::string& leaf_user_id, const v1::ErrorStatus& e) {
  AuditRow row;
  row.leaf_user_id = leaf_user_id;
  google::rpc::Status status;
  status.ParseFromString(e.SerializeAsString());  // wire-compatible
  google::rpc::ErrorInfo info;
  for (const auto& any : status.details()) {
    if (any.UnpackTo(&info)) break;
  }
  row.error_reason = info.reason().empty() ? absl::StrCat("CODE_", e.code()) : info.reason();
  row.status = row.error_reason == "CREDENTIALS_NOT_FOUND" ? "NO_CREDENTIALS" : "ERROR";
  if (row.status == "NO_CREDENTIALS") row.error_reason.clear();
  return row;
}

bool NeedsReauthorization(const AuditRow& row) {
  return row.status == "UNAUTHENTICATED" || row.status == "MISSING_PERMISSION";
}

std::string AuditHeader(AuditFormat format, bool links) {
  switch (format) {
    case AuditFormat::kTable:
      if (links) {
        return absl::StrFormat("%-36s  %-23s  %-20s  %-8s  %-8s  %-8s  %-24s  %s\n", "LEAF USER ID",
                               "STATUS", "CREATED", "REFRESH", "PRIVATE", "ACCESS", "ERROR",
                               "CONNECT LINK");
      }
      return absl::StrFormat("%-36s  %-23s  %-20s  %-8s  %-8s  %-8s  %s\n", "LEAF USER ID",
                             "STATUS", "CREATED", "REFRESH", "PRIVATE", "ACCESS", "ERROR");
    case AuditFormat::kCsv:
      return absl::StrCat(
          "leaf_user_id,status,leaf_status,create_time,refresh_token_hint,private_key_hint,"
          "access_token_hint,error_reason",
          links ? ",connect_link,connect_link_name,connect_link_error" : "", "\n");
    case AuditFormat::kJsonLines:
      return "";
  }
  return "";
}

std::string FormatAuditRow(const AuditRow& r, AuditFormat format, bool links) {
  switch (format) {
    case AuditFormat::kTable: {
      // Leaf's raw status is shown only when it says more than the enum.
      std::string status = r.status;
      if (!r.leaf_status.empty() && r.leaf_status != r.status) {
        absl::StrAppend(&status, " (", Printable(r.leaf_status), ")");
      }
      if (links) {
        const std::string link = !r.connect_link_error.empty()
                                     ? absl::StrCat("error: ", Printable(r.connect_link_error))
                                     : Or(Printable(r.connect_link), "-");
        return absl::StrFormat(
            "%-36s  %-23s  %-20s  %-8s  %-8s  %-8s  %-24s  %s\n", Printable(r.leaf_user_id), status,
            Or(r.create_time, "-"), Or(Printable(r.refresh_token_hint), "-"),
            Or(Printable(r.private_key_hint), "-"), Or(Printable(r.access_token_hint), "-"),
            Or(r.error_reason, "-"), link);
      }
      return absl::StrFormat("%-36s  %-23s  %-20s  %-8s  %-8s  %-8s  %s\n",
                             Printable(r.leaf_user_id), status, Or(r.create_time, "-"),
                             Or(Printable(r.refresh_token_hint), "-"),
                             Or(Printable(r.private_key_hint), "-"),
                             Or(Printable(r.access_token_hint), "-"), Or(r.error_reason, ""));
    }
    case AuditFormat::kCsv:
      return absl::StrCat(
          absl::StrJoin({CsvField(r.leaf_user_id), CsvField(r.status), CsvField(r.leaf_status),
                         CsvField(r.create_time), CsvField(r.refresh_token_hint),
                         CsvField(r.private_key_hint), CsvField(r.access_token_hint),
                         CsvField(r.error_reason)},
                        ","),
          links ? absl::StrCat(",", CsvField(r.connect_link), ",", CsvField(r.connect_link_name),
                               ",", CsvField(r.connect_link_error))
                : "",
          "\n");
    case AuditFormat::kJsonLines:
      return absl::StrCat(
          "{\"leafUserId\":", JsonString(r.leaf_user_id), ",\"status\":", JsonString(r.status),
          ",\"leafStatus\":", JsonString(r.leaf_status),
          ",\"createTime\":", JsonString(r.create_time),
          ",\"refreshTokenHint\":", JsonString(r.refresh_token_hint),
          ",\"privateKeyHint\":", JsonString(r.private_key_hint),
          ",\"accessTokenHint\":", JsonString(r.access_token_hint),
          ",\"errorReason\":", JsonString(r.error_reason),
          links ? absl::StrCat(",\"connectLink\":", JsonString(r.connect_link),
                               ",\"connectLinkName\":", JsonString(r.connect_link_name),
                               ",\"connectLinkError\":", JsonString(r.connect_link_error))
                : "",
          "}\n");
  }
  return "";
}

std::string FormatAuditSummary(const std::map<std::string, int>& counts) {
  static const char* const kOrder[] = {"OK",
                                       "UNAUTHENTICATED",
                                       "MISSING_PERMISSION",
                                       "TEMPORARILY_UNAVAILABLE",
                                       "UNKNOWN",
                                       "NO_CREDENTIALS",
                                       "ERROR"};
  int total = 0;
  std::string text = "summary:\n";
  for (const char* status : kOrder) {
    auto it = counts.find(status);
    const int n = it == counts.end() ? 0 : it->second;
    total += n;
    if (n > 0) absl::StrAppend(&text, absl::StrFormat("  %-24s %d\n", status, n));
  }
  int reauth = 0;
  for (const char* s : {"UNAUTHENTICATED", "MISSING_PERMISSION"}) {
    auto it = counts.find(s);
    if (it != counts.end()) reauth += it->second;
  }
  absl::StrAppend(&text, absl::StrFormat("  %-24s %d\n", "total", total));
  absl::StrAppend(&text, absl::StrFormat("  %-24s %d\n", "need re-authorization", reauth));
  return text;
}

}  // namespace leafsvc::client
