#include "client/secrets.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/flag_table.h"

namespace leafsvc::client {
namespace {

using ::leaf::agleader::v1::CreateCredentialsRequest;

// The value of `name` as given on the command line, or in its environment
// twin: each source on its own, to apply the precedence of the header.
std::optional<std::string> FromArgv(const FlagSet& flags,
                                    const std::set<std::string>& on_command_line,
                                    const char* name) {
  if (on_command_line.count(name) == 0) return std::nullopt;
  return flags.GetString(name);
}

std::optional<std::string> FromEnv(const FlagSet& flags, const char* name) {
  const char* value = std::getenv(flags.EnvName(name).c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

// Sources in precedence order; the first that is present wins. Every value
// seen is remembered for redaction, winner or not.
std::string Pick(std::vector<std::optional<std::string>> sources,
                 std::vector<std::string>* secrets) {
  std::string chosen;
  bool found = false;
  for (std::optional<std::string>& source : sources) {
    if (!source.has_value()) continue;
    if (!source->empty()) secrets->push_back(*source);
    if (!found) {
      chosen = *source;
      found = true;
    }
  }
  return chosen;
}

absl::Status BothGiven(const std::set<std::string>& on_command_line, const char* flag,
                       const char* file_flag) {
  if (on_command_line.count(flag) && on_command_line.count(file_flag)) {
    return absl::InvalidArgumentError(
        absl::StrCat("give --", flag, " or --", file_flag, ", not both"));
  }
  return absl::OkStatus();
}

// Whether `key` can go into an HTTP/2 header value as a bearer token.
bool IsSendableKey(absl::string_view key) {
  return std::all_of(key.begin(), key.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

}  // namespace

absl::StatusOr<StdinSecrets> ReadSecrets(std::istream& in) {
  StdinSecrets secrets;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    absl::string_view text = line;
    absl::ConsumeSuffix(&text, "\r");
    if (text.empty() || absl::StartsWith(text, "#")) continue;
    size_t eq = text.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("stdin line ", number,
                       ": expected refresh_token=..., private_key=... or access_token=..."));
    }
    absl::string_view key = absl::StripAsciiWhitespace(text.substr(0, eq));
    std::optional<std::string>* slot = nullptr;
    if (key == "refresh_token") slot = &secrets.refresh_token;
    if (key == "private_key") slot = &secrets.private_key;
    if (key == "access_token") slot = &secrets.access_token;
    if (slot == nullptr) {
      // The key is not shown: a malformed line may be a secret itself.
      return absl::InvalidArgumentError(
          absl::StrCat("stdin line ", number,
                       ": unknown name (expected refresh_token, private_key or "
                       "access_token)"));
    }
    if (slot->has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("stdin line ", number, ": ", key, " given twice"));
    }
    *slot = std::string(text.substr(eq + 1));
  }
  if (in.bad()) return absl::InvalidArgumentError("cannot read stdin");
  return secrets;
}

absl::StatusOr<std::string> ReadPrivateKeyFile(const std::string& path) {
  absl::StatusOr<std::string> key = ReadFlagFile("private_key_file", path);
  if (!key.ok()) return key.status();
  if (absl::EndsWith(*key, "\r\n")) {
    key->resize(key->size() - 2);
  } else if (absl::EndsWith(*key, "\n")) {
    key->pop_back();
  }
  return key;
}

absl::StatusOr<Secret> ReadApiKeyFile(const std::string& path) {
  absl::StatusOr<std::string> contents = ReadFlagFile("api_key_file", path);
  if (!contents.ok()) return contents.status();
  std::optional<std::string> key;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(*contents, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    if (key.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("--api_key_file: \"", path,
                                                     "\" holds a second key (line ", number,
                                                     "); give the file of one key"));
    }
    key = std::string(line);
  }
  if (!key.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("--api_key_file: \"", path, "\" holds no key"));
  }
  return Secret(*std::move(key));
}

absl::Status ResolveCreateSecrets(const FlagSet& flags,
                                  const std::set<std::string>& on_command_line, std::istream& in,
                                  CreateCredentialsRequest* request,
                                  std::vector<std::string>* secrets) {
  absl::Status both = BothGiven(on_command_line, "private_key", "private_key_file");
  if (!both.ok()) return both;

  StdinSecrets stdin_secrets;
  if (flags.GetBool("secrets_from_stdin")) {
    absl::StatusOr<StdinSecrets> read = ReadSecrets(in);
    if (!read.ok()) return read.status();
    stdin_secrets = *std::move(read);
  }
  std::optional<std::string> key_file;
  if (!flags.GetString("private_key_file").empty()) {
    absl::StatusOr<std::string> key = ReadPrivateKeyFile(flags.GetString("private_key_file"));
    if (!key.ok()) return key.status();
    key_file = *std::move(key);
  }

  request->set_refresh_token(Pick({FromArgv(flags, on_command_line, "refresh_token"),
                                   stdin_secrets.refresh_token, FromEnv(flags, "refresh_token")},
                                  secrets));
  request->set_private_key(
      Pick({FromArgv(flags, on_command_line, "private_key"), stdin_secrets.private_key, key_file,
            FromEnv(flags, "private_key")},
           secrets));
  request->set_access_token(Pick({FromArgv(flags, on_command_line, "access_token"),
                                  stdin_secrets.access_token, FromEnv(flags, "access_token")},
                                 secrets));
  return absl::OkStatus();
}

absl::StatusOr<Secret> ResolveApiKey(const FlagSet& flags,
                                     const std::set<std::string>& on_command_line,
                                     std::vector<std::string>* secrets) {
  absl::Status both = BothGiven(on_command_line, "api_key", "api_key_file");
  if (!both.ok()) return both;
  std::optional<std::string> from_file;
  if (!flags.GetString("api_key_file").empty()) {
    absl::StatusOr<Secret> key = ReadApiKeyFile(flags.GetString("api_key_file"));
    if (!key.ok()) return key.status();
    from_file = key->Reveal();
  }
  std::string key = Pick(
      {FromArgv(flags, on_command_line, "api_key"), from_file, FromEnv(flags, "api_key")}, secrets);
  if (!IsSendableKey(key)) {
    return absl::InvalidArgumentError("the API key must be printable ASCII without spaces");
  }
  return Secret(std::move(key));
}

std::string Redact(absl::string_view text, const std::vector<std::string>& secrets) {
  // Longest first, so a secret containing another is removed whole.
  std::vector<absl::string_view> sorted(secrets.begin(), secrets.end());
  std::sort(sorted.begin(), sorted.end(),
            [](absl::string_view a, absl::string_view b) { return a.size() > b.size(); });
  std::string out(text);
  for (absl::string_view secret : sorted) {
    if (secret.size() < kMinRedactLength) continue;
    absl::StrReplaceAll({{secret, "[redacted]"}}, &out);
  }
  return out;
}

}  // namespace leafsvc::client
