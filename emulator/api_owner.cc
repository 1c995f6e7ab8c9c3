#include "emulator/api_owner.h"

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "emulator/json.h"
#include "emulator/jwt.h"
#include "emulator/paths.h"

namespace leafemu {
namespace {

std::string Account(absl::string_view username) {
  return absl::StrCat(kAccountOwnerPrefix, username);
}

// The "sub" of a JWT's payload, unverified.
std::optional<std::string> JwtSubject(absl::string_view token) {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return std::nullopt;
  std::optional<std::string> payload = Base64UrlDecode(parts[1]);
  if (!payload) return std::nullopt;
  rapidjson::Document doc;
  if (!ParseObject(*payload, doc)) return std::nullopt;
  return StringMember(doc, "sub");
}

}  // namespace

std::string ApiOwnerOf(const httplib::Request& req, const std::vector<std::string>& static_tokens) {
  if (req.path == kLoginPath) {
    rapidjson::Document doc;
    if (ParseObject(req.body, doc)) {
      if (std::optional<std::string> user = StringMember(doc, "username")) return Account(*user);
    }
    return std::string(kAnonymousOwner);
  }
  const std::string header = req.get_header_value("Authorization");
  absl::string_view value = absl::StripAsciiWhitespace(header);
  if (value.size() < 7 || !absl::EqualsIgnoreCase(value.substr(0, 7), "Bearer ")) {
    return std::string(kAnonymousOwner);
  }
  absl::string_view token = absl::StripAsciiWhitespace(value.substr(7));
  if (std::find(static_tokens.begin(), static_tokens.end(), token) != static_tokens.end()) {
    return std::string(kStaticTokenOwner);
  }
  if (std::optional<std::string> subject = JwtSubject(token)) return Account(*subject);
  return std::string(kAnonymousOwner);
}

}  // namespace leafemu
