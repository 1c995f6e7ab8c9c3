#include "client/client_lib.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "server/util/flags.h"

namespace leafsvc::client {
namespace {

// client/service_config.json, compiled in.
constexpr char kDefaultServiceConfig[] =
#include "client/service_config.inc"
    ;


using ::leaf::agleader::v1::CreateCredentialsRequest;
using ::leaf::agleader::v1::CredentialEvent;
using ::leaf::agleader::v1::Credentials;
using ::leaf::agleader::v1::CredentialsView;
using ::leaf::agleader::v1::ListCredentialEventsResponse;

constexpr absl::string_view kProgram = "agleader_client";

// Which commands a flag belongs to.
enum CommandMask : unsigned {
  kGet = 1u << 0,
  kCreate = 1u << 1,
  kDelete = 1u << 2,
  kEvents = 1u << 3,
  kAll = kGet | kCreate | kDelete | kEvents,
};

struct FlagSpec {
  const char* name;
  FlagSet::Type type;
  const char* default_value;
  const char* help;
  unsigned commands;
  bool secret;
};

// The flag table. Global flags (kAll) come first; each command's FlagSet
// holds the global flags and its own.
const FlagSpec kFlags[] = {
    {"server", FlagSet::Type::kString, "127.0.0.1:50051",
     "address of the AgLeaderCredentials server (host:port)", kAll, false},
    {"timeout", FlagSet::Type::kDuration, "10s",
     "deadline of each call (0 or inf: none)", kAll, false},
    {"json", FlagSet::Type::kBool, "false",
     "print the response as JSON (lowerCamelCase field names); errors stay "
     "readable on stderr",
     kAll, false},
    {"service_config", FlagSet::Type::kString, "",
     "path of a gRPC service-config JSON file (retries, timeouts); default: "
     "the built-in client/service_config.json (retry Get/List/Delete on "
     "UNAVAILABLE, never Create); \"none\" for no service config",
     kAll, false},
    {"leaf_user_id", FlagSet::Type::kString, "",
     "required: the Leaf user (a UUID)", kGet | kCreate | kDelete | kEvents,
     false},
    {"view", FlagSet::Type::kString, "basic",
     "basic or full (full shows the secret values; the server must allow it)",
     kGet | kCreate, false},
    {"public_key", FlagSet::Type::kString, "",
     "required: the application's AgLeader public key", kCreate, false},
    {"refresh_token", FlagSet::Type::kString, "",
     "the grower's AgFiniti refresh token (secret)", kCreate, true},
    {"private_key", FlagSet::Type::kString, "",
     "the application's AgLeader private key, on one line (secret)", kCreate,
     true},
    {"private_key_file", FlagSet::Type::kString, "",
     "read the private key from this file; one trailing newline is dropped, "
     "the key must otherwise be a single line",
     kCreate, false},
    {"access_token", FlagSet::Type::kString, "",
     "an AgFiniti access token, optional (secret)", kCreate, true},
    {"secrets_from_stdin", FlagSet::Type::kBool, "false",
     "read refresh_token=..., private_key=..., access_token=... lines from "
     "stdin",
     kCreate, false},
    {"allow_missing", FlagSet::Type::kBool, "false",
     "succeed when the user has no credentials", kDelete, false},
    {"page_size", FlagSet::Type::kInt, "0",
     "events per page, 1 to 500 (0: the server's default of 50)", kEvents,
     false},
    {"page_token", FlagSet::Type::kString, "",
     "next_page_token of a previous page", kEvents, false},
    {"all", FlagSet::Type::kBool, "false",
     "follow next_page_token until the last page and print every event",
     kEvents, false},
};

struct CommandSpec {
  Command command;
  const char* name;
  unsigned mask;
  const char* synopsis;
  const char* description;
};

const CommandSpec kCommands[] = {
    {Command::kGet, "get", kGet, "get --leaf_user_id ID [--view basic|full]",
     "show the AgLeader credentials of a Leaf user"},
    {Command::kCreate, "create", kCreate,
     "create --leaf_user_id ID --public_key K [--refresh_token T]\n"
     "         [--private_key P | --private_key_file PATH] [--access_token A]\n"
     "         [--secrets_from_stdin] [--view basic|full]",
     "attach AgLeader credentials to a Leaf user"},
    {Command::kDelete, "delete", kDelete,
     "delete --leaf_user_id ID [--allow_missing]",
     "remove the AgLeader credentials of a Leaf user"},
    {Command::kEvents, "events", kEvents,
     "events --leaf_user_id ID [--page_size N] [--page_token T] [--all]",
     "list Leaf's exchanges with AgLeader for the credentials, newest first"},
};

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

const FlagSpec* FindFlag(absl::string_view name) {
  for (const FlagSpec& f : kFlags) {
    if (name == f.name) return &f;
  }
  return nullptr;
}


// A FlagSet with the flags of the commands in `mask`. With `annotate`, the
// help of each command flag names its commands.
FlagSet MakeFlagSet(unsigned mask, bool annotate = false) {
  FlagSet flags{std::string(kEnvPrefix)};
  for (const FlagSpec& f : kFlags) {
    if ((f.commands & mask) == 0) continue;
    std::string help = f.help;
    if (annotate && f.commands != kAll) {
      std::vector<absl::string_view> names;
      for (const CommandSpec& c : kCommands) {
        if (f.commands & c.mask) names.push_back(c.name);
      }
      help = absl::StrCat("[", absl::StrJoin(names, ", "), "] ", help);
    }
    flags.Add(f.name, f.type, f.default_value, help, f.secret);
  }
  return flags;
}

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
    if (flag == nullptr && eq == absl::string_view::npos &&
        absl::StartsWith(name, "no")) {
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

absl::StatusOr<std::string> ReadServiceConfig(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::InvalidArgumentError(
        absl::StrCat("--service_config: cannot open \"", path, "\""));
  }
  std::stringstream contents;
  contents << file.rdbuf();
  std::string json = contents.str();
  google::protobuf::Struct parsed;
  auto status = google::protobuf::util::JsonStringToMessage(json, &parsed);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--service_config: \"", path,
                     "\" is not a JSON object: ", status.ToString()));
  }
  return json;
}

// Resolves the secrets of a create request (see ParseCommandLine).
absl::Status ResolveSecrets(const FlagSet& flags, const Scan& scan,
                            std::istream& in, CreateCredentialsRequest* request,
                            std::vector<std::string>* secrets) {
  auto from_env = [&flags](const char* name) -> std::optional<std::string> {
    const char* value = std::getenv(flags.EnvName(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  auto from_argv = [&flags, &scan](const char* name) -> std::optional<std::string> {
    if (scan.on_command_line.count(name) == 0) return std::nullopt;
    return flags.GetString(name);
  };

  if (scan.on_command_line.count("private_key") &&
      scan.on_command_line.count("private_key_file")) {
    return absl::InvalidArgumentError(
        "give --private_key or --private_key_file, not both");
  }

  StdinSecrets stdin_secrets;
  if (flags.GetBool("secrets_from_stdin")) {
    absl::StatusOr<StdinSecrets> read = ReadSecrets(in);
    if (!read.ok()) return read.status();
    stdin_secrets = *std::move(read);
  }
  std::optional<std::string> key_file;
  if (!flags.GetString("private_key_file").empty()) {
    absl::StatusOr<std::string> key =
        ReadPrivateKeyFile(flags.GetString("private_key_file"));
    if (!key.ok()) return key.status();
    key_file = *std::move(key);
  }

  // Sources in precedence order; the first that is present wins. Every
  // value seen is remembered for redaction, winner or not.
  auto pick = [secrets](std::vector<std::optional<std::string>> sources) {
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
  };
  request->set_refresh_token(pick({from_argv("refresh_token"),
                                   stdin_secrets.refresh_token,
                                   from_env("refresh_token")}));
  request->set_private_key(pick({from_argv("private_key"),
                                 stdin_secrets.private_key, key_file,
                                 from_env("private_key")}));
  request->set_access_token(pick({from_argv("access_token"),
                                  stdin_secrets.access_token,
                                  from_env("access_token")}));
  return absl::OkStatus();
}

// Makes text from the server safe to print on a terminal: control
// characters (other than tab) are shown as \xNN.
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

void AppendField(std::string* out, absl::string_view label,
                 absl::string_view value, int width) {
  absl::StrAppendFormat(out, "%-*s%s\n", width, absl::StrCat(label, ":"),
                        value);
}

std::string OrNone(absl::string_view value) {
  return value.empty() ? "(none)" : Printable(value);
}

// A possibly multi-line value: "label:" alone and then each line indented,
// or "label:  (none)".
void AppendBlock(std::string* out, absl::string_view label,
                 absl::string_view value, int width) {
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

std::string FormatRetryDelay(const google::protobuf::Duration& delay) {
  if (delay.nanos() == 0) return absl::StrCat(delay.seconds(), "s");
  std::string text = absl::StrFormat("%d.%09d", delay.seconds(),
                                     std::abs(delay.nanos()));
  while (absl::EndsWith(text, "0")) text.pop_back();
  return absl::StrCat(text, "s");
}

}  // namespace

absl::string_view CommandName(Command command) {
  return GetCommandSpec(command).name;
}

std::string Usage(std::optional<Command> command) {
  std::string usage;
  if (command.has_value()) {
    const CommandSpec& spec = GetCommandSpec(*command);
    usage = absl::StrCat("usage: ", kProgram, " [global flags] ", spec.synopsis,
                         "\n\n", spec.description, ".\n");
  } else {
    usage = absl::StrCat("usage: ", kProgram,
                         " [global flags] <command> [command flags]\n\n"
                         "Commands:\n");
    for (const CommandSpec& c : kCommands) {
      absl::StrAppend(&usage, "  ", c.synopsis, "\n      ", c.description,
                      "\n");
    }
  }
  if (!command.has_value() || *command == Command::kCreate) {
    absl::StrAppend(
        &usage,
        "\nSecrets of create, highest precedence first: the flag on the "
        "command line;\na name=value line on stdin with --secrets_from_stdin; "
        "--private_key_file (private\nkey only); the environment variable. "
        "Secret values are never printed except\nin --view full output.\n");
  }
  absl::StrAppend(&usage,
                  "\nExit status: 0 success, 1 the call failed (error on "
                  "stderr), 2 usage error.");
  if (command.has_value()) {
    return MakeFlagSet(GetCommandSpec(*command).mask).Help(usage);
  }
  return MakeFlagSet(kAll, /*annotate=*/true).Help(usage);
}

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
      return absl::InvalidArgumentError(absl::StrCat(
          "stdin line ", number,
          ": expected refresh_token=..., private_key=... or access_token=..."));
    }
    absl::string_view key = absl::StripAsciiWhitespace(text.substr(0, eq));
    std::optional<std::string>* slot = nullptr;
    if (key == "refresh_token") slot = &secrets.refresh_token;
    if (key == "private_key") slot = &secrets.private_key;
    if (key == "access_token") slot = &secrets.access_token;
    if (slot == nullptr) {
      // The key is not shown: a malformed line may be a secret itself.
      return absl::InvalidArgumentError(absl::StrCat(
          "stdin line ", number,
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
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::InvalidArgumentError(
        absl::StrCat("--private_key_file: cannot open \"", path, "\""));
  }
  std::stringstream contents;
  contents << file.rdbuf();
  if (file.bad()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--private_key_file: cannot read \"", path, "\""));
  }
  std::string key = contents.str();
  if (absl::EndsWith(key, "\r\n")) {
    key.resize(key.size() - 2);
  } else if (absl::EndsWith(key, "\n")) {
    key.pop_back();
  }
  return key;
}

ParseResult ParseCommandLine(int argc, char** argv, std::istream& in) {
  Scan scan = ScanArgs(argc, argv);
  const CommandSpec* spec =
      scan.positional.empty() ? nullptr : FindCommand(scan.positional[0]);
  std::optional<Command> command;
  if (spec != nullptr) command = spec->command;

  if (scan.help) {
    ParseResult result;
    result.outcome = ParseResult::Outcome::kHelp;
    result.usage = Usage(command);
    return result;
  }
  if (scan.positional.empty()) {
    return UsageError("no command given (get, create, delete or events)",
                      std::nullopt);
  }
  if (spec == nullptr) {
    return UsageError(absl::StrCat("unknown command \"",
                                   Printable(scan.positional[0]),
                                   "\" (expected get, create, delete or events)"),
                      std::nullopt);
  }
  if (scan.positional.size() > 1) {
    // Not shown: a stray argument may be a secret whose flag was mistyped.
    return UsageError(
        absl::StrCat("unexpected argument after \"", spec->name,
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
  Invocation& inv = result.invocation;
  inv.command = spec->command;

  ClientOptions& options = inv.options;
  options.server = flags.GetString("server");
  if (options.server.empty()) return UsageError("--server is empty", command);
  options.timeout = flags.GetDuration("timeout");
  options.json = flags.GetBool("json");
  options.service_config_path = flags.GetString("service_config");
  if (options.service_config_path.empty()) {
    options.service_config_json = kDefaultServiceConfig;
  } else if (options.service_config_path != "none") {
    absl::StatusOr<std::string> config =
        ReadServiceConfig(options.service_config_path);
    if (!config.ok()) {
      return UsageError(std::string(config.status().message()), command);
    }
    options.service_config_json = *std::move(config);
  }

  std::string leaf_user_id = flags.GetString("leaf_user_id");
  if (leaf_user_id.empty()) {
    return UsageError("missing required flag --leaf_user_id", command);
  }

  switch (spec->command) {
    case Command::kGet: {
      absl::StatusOr<CredentialsView> view = ParseView(flags.GetString("view"));
      if (!view.ok()) {
        return UsageError(std::string(view.status().message()), command);
      }
      inv.get_request.set_leaf_user_id(leaf_user_id);
      inv.get_request.set_view(*view);
      break;
    }
    case Command::kCreate: {
      absl::StatusOr<CredentialsView> view = ParseView(flags.GetString("view"));
      if (!view.ok()) {
        return UsageError(std::string(view.status().message()), command);
      }
      if (flags.GetString("public_key").empty()) {
        return UsageError("missing required flag --public_key", command);
      }
      CreateCredentialsRequest& request = inv.create_request;
      request.set_leaf_user_id(leaf_user_id);
      request.set_public_key(flags.GetString("public_key"));
      request.set_view(*view);
      absl::Status secrets =
          ResolveSecrets(flags, scan, in, &request, &inv.secrets);
      if (!secrets.ok()) {
        return UsageError(std::string(secrets.message()), command);
      }
      break;
    }
    case Command::kDelete:
      inv.delete_request.set_leaf_user_id(leaf_user_id);
      inv.delete_request.set_allow_missing(flags.GetBool("allow_missing"));
      break;
    case Command::kEvents: {
      int64_t page_size = flags.GetInt("page_size");
      if (page_size < std::numeric_limits<int32_t>::min() ||
          page_size > std::numeric_limits<int32_t>::max()) {
        return UsageError("--page_size is out of range", command);
      }
      inv.events_request.set_leaf_user_id(leaf_user_id);
      inv.events_request.set_page_size(static_cast<int32_t>(page_size));
      inv.events_request.set_page_token(flags.GetString("page_token"));
      inv.all_pages = flags.GetBool("all");
      break;
    }
  }
  return result;
}

std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(
    const ClientOptions& /*options*/) {
  // TLS (--tls_ca, client certificates) will branch here.
  return grpc::InsecureChannelCredentials();
}

grpc::ChannelArguments MakeChannelArguments(const ClientOptions& options) {
  grpc::ChannelArguments args;
  if (!options.service_config_json.empty()) {
    args.SetServiceConfigJSON(options.service_config_json);
    args.SetInt("grpc.enable_retries", 1);
  }
  return args;
}

void ApplyTimeout(const ClientOptions& options, grpc::ClientContext* context) {
  if (options.timeout <= absl::ZeroDuration() ||
      options.timeout == absl::InfiniteDuration()) {
    return;
  }
  context->set_deadline(
      std::chrono::system_clock::now() +
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          absl::ToChronoNanoseconds(options.timeout)));
}

std::string FormatCredentials(const Credentials& credentials,
                              CredentialsView view) {
  constexpr int kWidth = 15;  // "refresh token: "
  std::string out;
  AppendField(&out, "name", OrNone(credentials.name()), kWidth);
  AppendField(&out, "id", OrNone(credentials.id()), kWidth);
  AppendField(&out, "leaf user id", OrNone(credentials.leaf_user_id()), kWidth);
  AppendField(&out, "status",
              absl::StrCat(OrNone(credentials.leaf_status()), " (",
                           leaf::agleader::v1::CredentialStatus_Name(
                               credentials.status()),
                           ")"),
              kWidth);
  AppendField(&out, "created",
              credentials.has_create_time()
                  ? google::protobuf::util::TimeUtil::ToString(
                        credentials.create_time())
                  : "(unknown)",
              kWidth);
  AppendField(&out, "public key", OrNone(credentials.public_key()), kWidth);
  AppendField(&out, "refresh token", OrNone(credentials.refresh_token_hint()),
              kWidth);
  AppendField(&out, "private key", OrNone(credentials.private_key_hint()),
              kWidth);
  AppendField(&out, "access token", OrNone(credentials.access_token_hint()),
              kWidth);
  if (view == leaf::agleader::v1::CREDENTIALS_VIEW_FULL) {
    // Only here: the user asked for the secret values.
    absl::StrAppend(&out, "secret values (full view):\n");
    AppendField(&out, "  refresh token", OrNone(credentials.refresh_token()),
                kWidth + 2);
    AppendField(&out, "  private key", OrNone(credentials.private_key()),
                kWidth + 2);
    AppendField(&out, "  access token", OrNone(credentials.access_token()),
                kWidth + 2);
  }
  return out;
}

std::string FormatEvent(const CredentialEvent& event) {
  constexpr int kWidth = 13;  // "status code: "
  std::string out;
  AppendField(&out, "time",
              event.has_create_time()
                  ? google::protobuf::util::TimeUtil::ToString(
                        event.create_time())
                  : "(unknown)",
              kWidth);
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
    absl::StrAppend(&out, "next page token: ",
                    Printable(response.next_page_token()), "\n");
  }
  return out;
}

std::string FormatDeleted(absl::string_view leaf_user_id) {
  return absl::StrCat("deleted AgLeader credentials of user ",
                      Printable(leaf_user_id), "\n");
}

absl::StatusOr<std::string> FormatJson(
    const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = false;
  std::string json;
  auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print the response as JSON: ", status.ToString()));
  }
  if (!absl::EndsWith(json, "\n")) json.push_back('\n');
  return json;
}

std::string StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: break;
  }
  return absl::StrCat("CODE_", static_cast<int>(code));
}

std::string FormatError(const grpc::Status& status) {
  std::string message = status.error_message().empty()
                            ? "(no message)"
                            : Printable(status.error_message());
  std::string out = absl::StrFormat(
      "error: %s (%d): %s\n", StatusCodeName(status.error_code()),
      static_cast<int>(status.error_code()), message);
  if (status.error_details().empty()) return out;

  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) {
    absl::StrAppend(&out, "details: (unreadable)\n");
    return out;
  }
  std::string reasons, violations, retry;
  for (const google::protobuf::Any& any : details.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::BadRequest bad_request;
    google::rpc::RetryInfo retry_info;
    if (any.Is<google::rpc::ErrorInfo>() && any.UnpackTo(&info)) {
      absl::StrAppend(&reasons, "reason: ", Printable(info.reason()), "\n");
      if (!info.metadata().empty()) {
        std::map<std::string, std::string> sorted(info.metadata().begin(),
                                                  info.metadata().end());
        std::vector<std::string> pairs;
        for (const auto& [key, value] : sorted) {
          pairs.push_back(absl::StrCat(Printable(key), "=", Printable(value)));
        }
        absl::StrAppend(&reasons, "metadata: ", absl::StrJoin(pairs, ", "),
                        "\n");
      }
    } else if (any.Is<google::rpc::BadRequest>() &&
               any.UnpackTo(&bad_request)) {
      for (const auto& v : bad_request.field_violations()) {
        absl::StrAppend(&violations, "  field ", Printable(v.field()), ": ",
                        Printable(v.description()), "\n");
      }
    } else if (any.Is<google::rpc::RetryInfo>() && any.UnpackTo(&retry_info)) {
      absl::StrAppend(&retry, "retry after: ",
                      FormatRetryDelay(retry_info.retry_delay()), "\n");
    }
  }
  absl::StrAppend(&out, reasons, violations, retry);
  return out;
}

std::string Redact(absl::string_view text,
                   const std::vector<std::string>& secrets) {
  // Longest first, so a secret containing another is removed whole.
  std::vector<absl::string_view> sorted(secrets.begin(), secrets.end());
  std::sort(sorted.begin(), sorted.end(),
            [](absl::string_view a, absl::string_view b) {
              return a.size() > b.size();
            });
  std::string out(text);
  for (absl::string_view secret : sorted) {
    if (secret.size() < kMinRedactLength) continue;
    absl::StrReplaceAll({{secret, "[redacted]"}}, &out);
  }
  return out;
}

}  // namespace leafsvc::client
