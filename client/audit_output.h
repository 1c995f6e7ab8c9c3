// The rows of `agleader_client audit` and how they are printed: a table, CSV
// or JSON lines, then a summary by status. A row never holds a secret value:
// only the server's hints (BASIC view) are read from the credentials.
#ifndef CLIENT_AUDIT_OUTPUT_H_
#define CLIENT_AUDIT_OUTPUT_H_

#include <map>
#include <string>

#include "leaf/agleader/v1/agleader_credentials.pb.h"

namespace leafsvc::client {

struct AuditRow {
  std::string leaf_user_id;
  // OK, UNAUTHENTICATED, MISSING_PERMISSION, TEMPORARILY_UNAVAILABLE,
  // UNKNOWN (a status this client does not know), NO_CREDENTIALS, or ERROR.
  std::string status;
  std::string leaf_status;
  std::string create_time;  // RFC 3339, empty when unknown
  std::string refresh_token_hint, private_key_hint, access_token_hint;
  std::string error_reason;  // ErrorInfo.reason (or the code's name) for ERROR
  // audit --links, for a user who must re-authorize: the link's URL and
  // name, or why none could be created (ErrorInfo.reason or CODE_<n>).
  std::string connect_link, connect_link_name, connect_link_error;
};

AuditRow RowFromCredentials(const leaf::agleader::v1::Credentials& c);
// NOT_FOUND with reason CREDENTIALS_NOT_FOUND is a NO_CREDENTIALS row; any
// other error an ERROR row.
AuditRow RowFromError(const std::string& leaf_user_id, const leaf::agleader::v1::ErrorStatus& e);

// True for UNAUTHENTICATED and MISSING_PERMISSION.
bool NeedsReauthorization(const AuditRow& row);

enum class AuditFormat { kTable, kCsv, kJsonLines };

// `links` (audit --links) adds the connect link: a CONNECT LINK column
// (the URL, or "error: <reason>"), CSV columns connect_link,
// connect_link_name and connect_link_error, JSON fields connectLink,
// connectLinkName and connectLinkError. Without it the output is as before.
std::string AuditHeader(AuditFormat format, bool links = false);  // empty for JSON lines
std::string FormatAuditRow(const AuditRow& row, AuditFormat format, bool links = false);

// Rows per status, in a fixed order, and the total.
std::string FormatAuditSummary(const std::map<std::string, int>& counts);

}  // namespace leafsvc::client

#endif  // CLIENT_AUDIT_OUTPUT_H_
