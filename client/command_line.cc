#include "client/command_line.h"

#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/audit_input.h"
#include "client/channel.h"
#include "client/flag_table.h"
#include "client/secrets.h"
#include "client/text_output.h"
#include "server/config/flags.h"

namespace leafsvc::client {
namespace {

using ::leaf::agleader::v1::CreateCredentialsRequest;
using ::leaf::agleader::v1::CredentialsView;

// What a first pass over argv finds, tokenizing exactly like FlagSet::Parse
// (so that a flag's value is never mistaken for the command).
struct Scan {
  std::vector<std::string> positional;
  std::set<std::string> on_command_line;  // flag names given in argv
  bool help = false;
};

Scan ScanArgs(int argc, char** argv) {
  Scan scan;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      scan.help = true;
      continue;
    }
    if (!absl::StartsWith(arg, "--") || arg == "--") {
      scan.positional.emplace_back(arg);
      continue;
    }
    absl::string_view body = arg.substr(2);
    size_t eq = body.find('=');
    std::string name(body.substr(0, eq));
    const FlagSpec* flag = FindFlag(name);
    if (flag == nullptr && eq == absl::string_view::npos && absl::StartsWith(name, "no")) {
      const FlagSpec* negated = FindFlag(name.substr(2));
      if (negated != nullptr && negated->type == FlagSet::Type::kBool) {
        scan.on_command_line.insert(negated->name);
        continue;
      }
    }
    if (flag == nullptr) continue;  // FlagSet::Parse reports it
    scan.on_command_line.insert(flag->name);
    if (eq == absl::string_view::npos && flag->type != FlagSet::Type::kBool) {
      ++i;  // the value
    }
  }
  return scan;
}

ParseResult UsageError(std::string message, std::optional<Command> command) {
  ParseResult result;
  result.outcome = ParseResult::Outcome::kUsageError;
  result.message = std::move(message);
  result.usage = Usage(command);
  return result;
}

absl::StatusOr<CredentialsView> ParseView(const std::string& text) {
  std::string v = absl::AsciiStrToLower(text);
  if (v == "basic") return leaf::agleader::v1::CREDENTIALS_VIEW_BASIC;
  if (v == "full") return leaf::agleader::v1::CREDENTIALS_VIEW_FULL;
  return absl::InvalidArgumentError(
      absl::StrCat("--view must be basic or full, not \"", text, "\""));
}

// The global options: server, output, service config, TLS and API key.
absl::Status ParseClientOptions(const FlagSet& flags, const Scan& scan, Invocation* inv) {
  ClientOptions& options = inv->options;
  options.server = flags.GetString("server");
  if (options.server.empty()) {
    return absl::InvalidArgumentError("--server is empty");
  }
  options.timeout = flags.GetDuration("timeout");
  options.json = flags.GetBool("json");
  options.service_config_path = flags.GetString("service_config");
  absl::StatusOr<std::string> config = LoadServiceConfig(options.service_config_path);
  if (!config.ok()) return config.status();
  options.service_config_json = *std::move(config);

  TlsOptions& tls = options.tls;
  tls.enabled = flags.GetBool("tls");
  tls.ca_file = flags.GetString("ca_file");
  tls.cert_file = flags.GetString("cert_file");
  tls.key_file = flags.GetString("key_file");
  tls.server_name = flags.GetString("server_name");
  absl::Status loaded = LoadTlsFiles(&tls);
  if (!loaded.ok()) return loaded;

  absl::StatusOr<Secret> api_key = ResolveApiKey(flags, scan.on_command_line, &inv->secrets);
  if (!api_key.ok()) return api_key.status();
  options.api_key = *std::move(api_key);
  return absl::OkStatus();
}

// The request of `watch`. A stream has no natural end: without --timeout
// (flag or environment) it gets no deadline.
absl::Status ParseWatchRequest(const FlagSet& flags, Invocation* inv) {
  std::vector<std::string> users = flags.GetList("leaf_user_id");
  if (users.empty()) return absl::InvalidArgumentError("missing required flag --leaf_user_id");
  absl::StatusOr<CredentialsView> view = ParseView(flags.GetString("view"));
  if (!view.ok()) return view.status();
  for (const std::string& user : users) inv->watch_request.add_leaf_user_ids(user);
  inv->watch_request.set_view(*view);
  inv->watch_request.set_resume_token(flags.GetString("resume_token"));
  const int64_t attempts = flags.GetInt("max_rewatch_attempts");
  if (attempts < -1 || attempts > 1000000) {
    return absl::InvalidArgumentError(
        "--max_rewatch_attempts must be -1 (for ever) or 0 to 1000000");
  }
  inv->max_rewatch_attempts = static_cast<int>(attempts);
  if (!flags.IsSet("timeout")) inv->options.timeout = absl::InfiniteDuration();
  return absl::OkStatus();
}

// --ttl: days ("7d", what a link's lifetime is usually given in) or any
// absl duration ("36h", "90m"); empty: the server's default. The server's
// range (1 minute to 30 days) is checked here too, so a typo is a usage
// error before any call.
absl::Status ParseTtl(const std::string& text, leaf::agleader::v1::CreateConnectLinkRequest* r) {
  if (text.empty()) return absl::OkStatus();
  absl::Duration ttl;
  int64_t days = 0;
  bool parsed = false;
  if (absl::EndsWith(text, "d")) {
    parsed = absl::SimpleAtoi(absl::string_view(text).substr(0, text.size() - 1), &days) &&
             days >= 0 && days <= 366;
    ttl = absl::Hours(24) * days;
  } else {
    parsed = absl::ParseDuration(text, &ttl);
  }
  if (!parsed) {
    return absl::InvalidArgumentError(
        absl::StrCat("--ttl=", Printable(text), " is not a duration: expects e.g. 7d, 36h or 90m"));
  }
  if (ttl < absl::Minutes(1) || ttl > absl::Hours(24 * 30)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--ttl=", Printable(text), " is out of range: 1m to 30d"));
  }
  const int64_t seconds = absl::ToInt64Seconds(ttl);
  r->mutable_ttl()->set_seconds(seconds);
  r->mutable_ttl()->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(ttl - absl::Seconds(seconds))));
  return absl::OkStatus();
}

// The return URL and the ttl of the links connect (and audit --links) asks for.
absl::Status ParseLinkOptions(const FlagSet& flags,
                              leaf::agleader::v1::CreateConnectLinkRequest* request) {
  request->set_return_url(flags.GetString("return_url"));
  return ParseTtl(flags.GetString("ttl"), request);
}

// The request of `get-link`: a name as connect printed it.
absl::Status ParseGetLinkRequest(const FlagSet& flags, Invocation* inv) {
  const std::string name = flags.GetString("name");
  if (name.empty()) return absl::InvalidArgumentError("missing required flag --name");
  if (!absl::StartsWith(name, "connectLinks/") || name.size() == strlen("connectLinks/")) {
    return absl::InvalidArgumentError("--name must be connectLinks/ID, as connect printed it");
  }
  inv->get_link_request.set_name(name);
  inv->qr = flags.GetBool("qr");
  return absl::OkStatus();
}

// The request of the command.
absl::Status ParseRequest(const FlagSet& flags, const Scan& scan, std::istream& in,
                          Invocation* inv) {
  if (inv->command == Command::kAudit) {
    inv->audit.links = flags.GetBool("links");
    if (!inv->audit.links && (flags.IsSet("return_url") || flags.IsSet("ttl"))) {
      return absl::InvalidArgumentError("--return_url and --ttl of audit need --links");
    }
    absl::Status links = ParseLinkOptions(flags, &inv->audit.links_request);
    if (!links.ok()) return links;
    return ParseAuditOptions(flags, in, &inv->audit);
  }
  if (inv->command == Command::kWatch) return ParseWatchRequest(flags, inv);
  if (inv->command == Command::kGetLink) return ParseGetLinkRequest(flags, inv);
  std::string leaf_user_id = flags.GetString("leaf_user_id");
  if (leaf_user_id.empty()) {
    return absl::InvalidArgumentError("missing required flag --leaf_user_id");
  }
  switch (inv->command) {
    case Command::kGet: {
      absl::StatusOr<CredentialsView> view = ParseView(flags.GetString("view"));
      if (!view.ok()) return view.status();
      inv->get_request.set_leaf_user_id(leaf_user_id);
      inv->get_request.set_view(*view);
      break;
    }
    case Command::kCreate: {
      absl::StatusOr<CredentialsView> view = ParseView(flags.GetString("view"));
      if (!view.ok()) return view.status();
      if (flags.GetString("public_key").empty()) {
        return absl::InvalidArgumentError("missing required flag --public_key");
      }
      CreateCredentialsRequest& request = inv->create_request;
      request.set_leaf_user_id(leaf_user_id);
      request.set_public_key(flags.GetString("public_key"));
      request.set_view(*view);
      return ResolveCreateSecrets(flags, scan.on_command_line, in, &request, &inv->secrets);
    }
    case Command::kDelete:
      inv->delete_request.set_leaf_user_id(leaf_user_id);
      inv->delete_request.set_allow_missing(flags.GetBool("allow_missing"));
      break;
    case Command::kAudit:
      break;  // handled above
    case Command::kWatch:
    case Command::kGetLink:
      break;  // handled above
    case Command::kConnect:
      inv->connect_request.set_leaf_user_id(leaf_user_id);
      inv->qr = flags.GetBool("qr");
      return ParseLinkOptions(flags, &inv->connect_request);
    case Command::kEvents: {
      int64_t page_size = flags.GetInt("page_size");
      if (page_size < std::numeric_limits<int32_t>::min() ||
          page_size > std::numeric_limits<int32_t>::max()) {
        return absl::InvalidArgumentError("--page_size is out of range");
      }
      inv->events_request.set_leaf_user_id(leaf_user_id);
      inv->events_request.set_page_size(static_cast<int32_t>(page_size));
      inv->events_request.set_page_token(flags.GetString("page_token"));
      inv->all_pages = flags.GetBool("all");
      break;
    }
  }
  return absl::OkStatus();
}

}  // namespace

ParseResult ParseCommandLine(int argc, char** argv, std::istream& in) {
  Scan scan = ScanArgs(argc, argv);
  const CommandSpec* spec = scan.positional.empty() ? nullptr : FindCommand(scan.positional[0]);
  std::optional<Command> command;
  if (spec != nullptr) command = spec->command;

  if (scan.help) {
    ParseResult result;
    result.outcome = ParseResult::Outcome::kHelp;
    result.usage = Usage(command);
    return result;
  }
  if (scan.positional.empty()) {
    return UsageError(
        "no command given (get, create, delete, events, audit, watch, connect or get-link)",
        std::nullopt);
  }
  if (spec == nullptr) {
    return UsageError(
        absl::StrCat(
            "unknown command \"", Printable(scan.positional[0]),
            "\" (expected get, create, delete, events, audit, watch, connect or get-link)"),
        std::nullopt);
  }
  if (scan.positional.size() > 1) {
    // Not shown: a stray argument may be a secret whose flag was mistyped.
    return UsageError(absl::StrCat("unexpected argument after \"", spec->name,
                                   "\" (flags are written --name=value)"),
                      command);
  }

  FlagSet flags = MakeFlagSet(spec->mask);
  absl::Status parsed = flags.Parse(argc, argv);
  if (!parsed.ok()) {
    return UsageError(std::string(parsed.message()), command);
  }

  ParseResult result;
  result.outcome = ParseResult::Outcome::kRun;
  result.invocation.command = spec->command;
  absl::Status status = ParseClientOptions(flags, scan, &result.invocation);
  if (status.ok()) status = ParseRequest(flags, scan, in, &result.invocation);
  if (!status.ok()) return UsageError(std::string(status.message()), command);
  return result;
}

}  // namespace leafsvc::client
