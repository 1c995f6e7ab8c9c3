#include "client/flag_table.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace leafsvc::client {
namespace {

constexpr absl::string_view kProgram = "agleader_client";

// The flag table. Global flags (kAllCommands) come first; each command's
// FlagSet holds the global flags and its own.
const FlagSpec kFlags[] = {
    {"server", FlagSet::Type::kString, "127.0.0.1:50051",
     "address of the AgLeaderCredentials server (host:port)", kAllCommands, false},
    {"timeout", FlagSet::Type::kDuration, "10s", "deadline of each call (0 or inf: none)",
     kAllCommands, false},
    {"json", FlagSet::Type::kBool, "false",
     "print the response as JSON (lowerCamelCase field names); errors stay "
     "readable on stderr",
     kAllCommands, false},
    {"service_config", FlagSet::Type::kString, "",
     "path of a gRPC service-config JSON file (retries, timeouts); default: "
     "the built-in client/service_config.json (retry Get/List/Delete on "
     "UNAVAILABLE, never Create); \"none\" for no service config",
     kAllCommands, false},
    {"tls", FlagSet::Type::kBool, "false",
     "connect with TLS, verifying the server's certificate (against "
     "--ca_file, else gRPC's default roots); implied by --ca_file, "
     "--cert_file, --key_file and --server_name",
     kAllCommands, false},
    // Not AGLEADER_CLIENT_CA_FILE: that is the server's --client_ca_file
    // (the CA of caller certificates), often set in the same shell.
    {"ca_file", FlagSet::Type::kString, "",
     "PEM CA bundle that signed the server's certificate (TLS)", kAllCommands, false,
     "AGLEADER_CLIENT_TLS_CA_FILE"},
    {"cert_file", FlagSet::Type::kString, "",
     "PEM client certificate chain for mutual TLS (with --key_file)", kAllCommands, false},
    {"key_file", FlagSet::Type::kString, "", "PEM private key of --cert_file (mutual TLS)",
     kAllCommands, false},
    {"server_name", FlagSet::Type::kString, "",
     "name the server's certificate must carry, instead of the host of "
     "--server (TLS target name override)",
     kAllCommands, false},
    {"api_key", FlagSet::Type::kString, "",
     "API key sent as \"authorization: Bearer <key>\" on every call (secret; "
     "prefer --api_key_file or the environment variable)",
     kAllCommands, true},
    {"api_key_file", FlagSet::Type::kString, "",
     "read the API key from this file: its one line that is not blank or a "
     "# comment, surrounding whitespace dropped",
     kAllCommands, false},
    {"leaf_user_id", FlagSet::Type::kString, "", "required: the Leaf user (a UUID)",
     kGetMask | kCreateMask | kDeleteMask | kEventsMask | kConnectMask, false},
    // watch takes several users: its own entry, a list.
    {"leaf_user_id", FlagSet::Type::kList, "",
     "required: a Leaf user to watch (a UUID); repeat for more, up to 100", kWatchMask, false},
    {"view", FlagSet::Type::kString, "basic",
     "basic or full (full shows the secret values; the server must allow it)",
     kGetMask | kCreateMask | kWatchMask, false},
    {"resume_token", FlagSet::Type::kString, "",
     "continue a watch after the change that carried this resume_token (printed with each "
     "change by --json) instead of starting from the users' state",
     kWatchMask, false},
    {"max_rewatch_attempts", FlagSet::Type::kInt, "-1",
     "when a stream ends with a retriable status (UNAVAILABLE...), watch again with the last "
     "change's resume_token, backing off from 100 ms to 10 s, at most this many times in a row "
     "after streams that brought no change; -1: for ever, 0: never",
     kWatchMask, false},
    {"public_key", FlagSet::Type::kString, "", "required: the application's AgLeader public key",
     kCreateMask, false},
    {"refresh_token", FlagSet::Type::kString, "", "the grower's AgFiniti refresh token (secret)",
     kCreateMask, true},
    {"private_key", FlagSet::Type::kString, "",
     "the application's AgLeader private key, on one line (secret)", kCreateMask, true},
    {"private_key_file", FlagSet::Type::kString, "",
     "read the private key from this file; one trailing newline is dropped, "
     "the key must otherwise be a single line",
     kCreateMask, false},
    {"access_token", FlagSet::Type::kString, "", "an AgFiniti access token, optional (secret)",
     kCreateMask, true},
    {"secrets_from_stdin", FlagSet::Type::kBool, "false",
     "read refresh_token=..., private_key=..., access_token=... lines from "
     "stdin",
     kCreateMask, false},
    {"allow_missing", FlagSet::Type::kBool, "false", "succeed when the user has no credentials",
     kDeleteMask, false},
    {"page_size", FlagSet::Type::kInt, "0",
     "events per page, 1 to 500 (0: the server's default of 50)", kEventsMask, false},
    {"page_token", FlagSet::Type::kString, "", "next_page_token of a previous page", kEventsMask,
     false},
    {"all", FlagSet::Type::kBool, "false",
     "follow next_page_token until the last page and print every event", kEventsMask, false},
    {"users", FlagSet::Type::kString, "",
     "audit these users: a file with one Leaf user id per line (blank lines and # comments "
     "skipped), - for stdin; default: every user of the account",
     kAuditMask, false},
    {"csv", FlagSet::Type::kBool, "false", "print the rows as CSV (with a header line)", kAuditMask,
     false},
    {"chunk_size", FlagSet::Type::kInt, "100",
     "users per BatchGetCredentials call with --users, 1 to 500", kAuditMask, false},
    {"progress", FlagSet::Type::kString, "auto",
     "auto (a bar when stderr is a terminal, else a line every few seconds), bar, plain or "
     "none",
     kAuditMask, false},
    {"max_rate_limited_waits", FlagSet::Type::kInt, "30",
     "how many times to wait (the server's RetryInfo delay, at most 60 s) and ask again for the "
     "users (or the page) Leaf's request budget deferred (LEAF_RATE_LIMITED), 0 to 1000; 0: never",
     kAuditMask, false},
    {"links", FlagSet::Type::kBool, "false",
     "create a connect link (CreateConnectLink) for every user who must re-authorize and show "
     "it in a connect_link column; a link that cannot be created is reported in its row",
     kAuditMask, false},
    {"return_url", FlagSet::Type::kString, "",
     "where the grower's browser goes when the flow ends (an https URL the server allows); "
     "default: the service's own result page",
     kConnectMask | kAuditMask, false},
    // A string, not a duration flag: days ("7d") are the natural unit here.
    {"ttl", FlagSet::Type::kString, "",
     "how long the link may be used, 1m to 30d, e.g. 7d, 36h or 90m; default: the server's "
     "--connect_link_ttl (7 days)",
     kConnectMask | kAuditMask, false},
    {"qr", FlagSet::Type::kBool, "false",
     "also print the link's URL as a QR code (UTF-8 half blocks, light modules drawn, for a "
     "dark terminal; on stderr with --json)",
     kConnectMask | kGetLinkMask, false},
    {"name", FlagSet::Type::kString, "",
     "required: the link's resource name, connectLinks/ID, as connect printed it", kGetLinkMask,
     false},
};

const CommandSpec kCommands[] = {
    {Command::kGet, "get", kGetMask, "get --leaf_user_id ID [--view basic|full]",
     "show the AgLeader credentials of a Leaf user"},
    {Command::kCreate, "create", kCreateMask,
     "create --leaf_user_id ID --public_key K [--refresh_token T]\n"
     "         [--private_key P | --private_key_file PATH] [--access_token A]\n"
     "         [--secrets_from_stdin] [--view basic|full]",
     "attach AgLeader credentials to a Leaf user"},
    {Command::kDelete, "delete", kDeleteMask, "delete --leaf_user_id ID [--allow_missing]",
     "remove the AgLeader credentials of a Leaf user"},
    {Command::kEvents, "events", kEventsMask,
     "events --leaf_user_id ID [--page_size N] [--page_token T] [--all]",
     "list Leaf's exchanges with AgLeader for the credentials, newest first"},
    {Command::kAudit, "audit", kAuditMask,
     "audit [--users FILE|-] [--csv] [--chunk_size N] [--progress auto|bar|plain|none]\n"
     "         [--max_rate_limited_waits N] [--links [--return_url URL] [--ttl 7d]]",
     "report the state of many users' credentials (every user of the account, or those of\n"
     "      --users) with a summary; exit 3 when any must re-authorize"},
    {Command::kWatch, "watch", kWatchMask,
     "watch --leaf_user_id ID [--leaf_user_id ID ...] [--view basic|full]\n"
     "         [--resume_token T] [--max_rewatch_attempts N]",
     "print each change of the users' credentials as it happens (one line each; --json: one "
     "JSON object per line) until interrupted or the stream ends for good; a stream that ends "
     "with a retriable status is watched again from its last change"},
    {Command::kConnect, "connect", kConnectMask,
     "connect --leaf_user_id ID [--return_url URL] [--ttl 7d] [--qr]",
     "create a connect link: a URL to send the grower to, where they re-authorize AgLeader\n"
     "      and the server attaches the credentials itself; prints its url, name, state and\n"
     "      expiry (follow it with get-link)"},
    {Command::kGetLink, "get-link", kGetLinkMask, "get-link --name connectLinks/ID [--qr]",
     "show a connect link and how far its grower got (PENDING, CONNECTED, DENIED, FAILED,\n"
     "      EXPIRED)"},
};

}  // namespace

const FlagSpec* FindFlag(absl::string_view name) {
  for (const FlagSpec& f : kFlags) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

const CommandSpec* FindCommand(absl::string_view name) {
  for (const CommandSpec& c : kCommands) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

const CommandSpec& GetCommandSpec(Command command) {
  for (const CommandSpec& c : kCommands) {
    if (c.command == command) return c;
  }
  return kCommands[0];
}

absl::string_view CommandName(Command command) { return GetCommandSpec(command).name; }

FlagSet MakeFlagSet(unsigned mask, bool annotate) {
  FlagSet flags{std::string(kEnvPrefix)};
  for (const FlagSpec& f : kFlags) {
    if ((f.commands & mask) == 0) continue;
    std::string help = f.help;
    if (annotate && f.commands != kAllCommands) {
      std::vector<absl::string_view> names;
      for (const CommandSpec& c : kCommands) {
        if (f.commands & c.mask) names.push_back(c.name);
      }
      help = absl::StrCat("[", absl::StrJoin(names, ", "), "] ", help);
    }
    flags.Add(f.name, f.type, f.default_value, help, f.secret);
    if (f.env != nullptr) flags.SetEnvName(f.name, f.env);
  }
  return flags;
}

std::string Usage(std::optional<Command> command) {
  std::string usage;
  if (command.has_value()) {
    const CommandSpec& spec = GetCommandSpec(*command);
    usage = absl::StrCat("usage: ", kProgram, " [global flags] ", spec.synopsis, "\n\n",
                         spec.description, ".\n");
  } else {
    usage = absl::StrCat("usage: ", kProgram,
                         " [global flags] <command> [command flags]\n\n"
                         "Commands:\n");
    for (const CommandSpec& c : kCommands) {
      absl::StrAppend(&usage, "  ", c.synopsis, "\n      ", c.description, "\n");
    }
  }
  if (!command.has_value() || *command == Command::kCreate) {
    absl::StrAppend(&usage,
                    "\nSecrets of create, highest precedence first: the flag on the "
                    "command line;\na name=value line on stdin with --secrets_from_stdin; "
                    "--private_key_file (private\nkey only); the environment variable. "
                    "Secret values are never printed except\nin --view full output.\n");
  }
  absl::StrAppend(&usage,
                  "\nAPI key, highest precedence first: --api_key on the command line; "
                  "--api_key_file;\nthe environment variable. It is never printed.\n");
  absl::StrAppend(&usage,
                  "\nExit status: 0 success, 1 the call failed (error on "
                  "stderr), 2 usage error; audit: 3 some credentials need re-authorization "
                  "(UNAUTHENTICATED or MISSING_PERMISSION) and nothing failed.");
  if (command.has_value()) {
    return MakeFlagSet(GetCommandSpec(*command).mask).Help(usage);
  }
  return MakeFlagSet(kAllCommands, /*annotate=*/true).Help(usage);
}

absl::StatusOr<std::string> ReadFlagFile(absl::string_view flag, const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": cannot open \"", path, "\""));
  }
  std::stringstream contents;
  contents << file.rdbuf();
  if (file.bad()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": cannot read \"", path, "\""));
  }
  return contents.str();
}

}  // namespace leafsvc::client
