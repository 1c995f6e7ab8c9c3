#include "client/audit_input.h"

#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/ids/leaf_user_id.h"
#include "server/leaf/leaf_endpoints.h"

namespace leafsvc::client {

namespace {

// Reads one line (without its '\n') into `line`, at most kMaxUserLineBytes
// of it: false at the end of the input, or with `*too_long` set when the line
// goes on past the limit (nothing more of it is read, so --users /dev/zero
// fails after 4 KiB instead of growing without bound).
bool ReadBoundedLine(std::istream& in, std::string& line, bool* too_long) {
  line.clear();
  *too_long = false;
  for (;;) {
    const std::istream::int_type c = in.get();
    if (c == std::istream::traits_type::eof()) return !line.empty();
    if (c == '\n') return true;
    if (line.size() == kMaxUserLineBytes) {
      *too_long = true;
      return true;
    }
    line.push_back(static_cast<char>(c));
  }
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseUserList(std::istream& in, absl::string_view source) {
  std::vector<std::string> users;
  std::string line;
  bool too_long = false;
  for (int number = 1; ReadBoundedLine(in, line, &too_long); ++number) {
    if (too_long) {
      return absl::InvalidArgumentError(absl::StrCat(source, " line ", number, ": longer than ",
                                                     kMaxUserLineBytes,
                                                     " bytes; expected one Leaf user id per line"));
    }
    absl::string_view id = absl::StripAsciiWhitespace(line);
    if (id.empty() || id[0] == '#') continue;
    if (!IsLeafUserId(id)) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, " line ", number, ": not a Leaf user id (a UUID of 8-4-4-4-12 ",
                       "hexadecimal digits, ", id.size(), " characters given)"));
    }
    users.emplace_back(id);
  }
  if (in.bad()) return absl::InvalidArgumentError(absl::StrCat("cannot read ", source));
  if (users.empty()) return absl::InvalidArgumentError(absl::StrCat(source, " lists no user"));
  return users;
}

absl::Status ParseAuditOptions(const FlagSet& flags, std::istream& in, AuditOptions* audit) {
  audit->csv = flags.GetBool("csv");
  const int64_t chunk = flags.GetInt("chunk_size");
  if (chunk < 1 || chunk > 500) {
    return absl::InvalidArgumentError("--chunk_size must be between 1 and 500");
  }
  audit->chunk_size = static_cast<int>(chunk);
  const int64_t waits = flags.GetInt("max_rate_limited_waits");
  if (waits < 0 || waits > 1000) {
    return absl::InvalidArgumentError("--max_rate_limited_waits must be between 0 and 1000");
  }
  audit->max_rate_limited_waits = static_cast<int>(waits);
  const std::string progress = absl::AsciiStrToLower(flags.GetString("progress"));
  if (progress == "auto") {
    audit->progress = AuditOptions::Progress::kAuto;
  } else if (progress == "bar") {
    audit->progress = AuditOptions::Progress::kBar;
  } else if (progress == "plain") {
    audit->progress = AuditOptions::Progress::kPlain;
  } else if (progress == "none") {
    audit->progress = AuditOptions::Progress::kNone;
  } else {
    return absl::InvalidArgumentError("--progress must be auto, bar, plain or none");
  }
  const std::string path = flags.GetString("users");
  if (path.empty()) return absl::OkStatus();
  audit->all_users = false;
  absl::StatusOr<std::vector<std::string>> users;
  if (path == "-") {
    users = ParseUserList(in, "--users stdin");
  } else {
    std::ifstream file(path);
    if (!file)
      return absl::InvalidArgumentError(absl::StrCat("--users: cannot open \"", path, "\""));
    users = ParseUserList(file, absl::StrCat("--users \"", path, "\""));
  }
  if (!users.ok()) return users.status();
  audit->users = *std::move(users);
  return absl::OkStatus();
}

}  // namespace leafsvc::client
