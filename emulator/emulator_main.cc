// leaf_emulator: runs the Leaf REST emulator (leaf_emulator.h) as a process.
//
// Every flag accepts --name=value and --name value and has an environment
// twin LEAF_EMULATOR_<NAME>; a flag on the command line wins over its twin.
// Prints "leaf_emulator listening on http(s)://HOST:PORT" once ready, serves
// until SIGTERM or SIGINT, then stops and exits 0.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "emulator/leaf_emulator.h"

namespace {

struct FlagSpec {
  const char* name;
  const char* env;
  const char* default_value;
  const char* help;
  bool is_bool;
  bool repeatable;
};

constexpr FlagSpec kFlags[] = {
    {"host", "LEAF_EMULATOR_HOST", "127.0.0.1", "address to listen on", false,
     false},
    {"port", "LEAF_EMULATOR_PORT", "8080", "port to listen on (0: pick one)",
     false, false},
    {"account", "LEAF_EMULATOR_ACCOUNTS", "(none)",
     "login account user:password; repeatable (env: comma-separated)", false,
     true},
    {"token", "LEAF_EMULATOR_TOKENS", "(none)",
     "static bearer token accepted without login; repeatable (env: "
     "comma-separated)",
     false, true},
    {"known_users", "LEAF_EMULATOR_KNOWN_USERS", "(any well-formed id)",
     "comma-separated Leaf user ids that exist; others get 404", false, false},
    {"duplicate_mode", "LEAF_EMULATOR_DUPLICATE_MODE", "replace",
     "POST over existing credentials: replace | bad_request | conflict", false,
     false},
    {"reject_invalid_refresh_token",
     "LEAF_EMULATOR_REJECT_INVALID_REFRESH_TOKEN", "false",
     "refuse refresh tokens starting with \"invalid\" at POST (400) instead "
     "of storing them as UNAUTHENTICATED",
     true, false},
    {"token_lifetime", "LEAF_EMULATOR_TOKEN_LIFETIME", "24h",
     "lifetime of login tokens without rememberMe (e.g. 90s, 24h)", false,
     false},
    {"remember_me_token_lifetime", "LEAF_EMULATOR_REMEMBER_ME_TOKEN_LIFETIME",
     "720h", "lifetime of login tokens with rememberMe", false, false},
    {"max_recorded_requests", "LEAF_EMULATOR_MAX_RECORDED_REQUESTS", "100000",
     "requests kept for GET /_emulator/requests (oldest dropped first)", false,
     false},
    {"tls_cert_file", "LEAF_EMULATOR_TLS_CERT_FILE", "(none: plain HTTP)",
     "serve HTTPS with this PEM certificate chain", false, false},
    {"tls_key_file", "LEAF_EMULATOR_TLS_KEY_FILE", "(none)",
     "PEM private key of --tls_cert_file", false, false},
    {"log_requests", "LEAF_EMULATOR_LOG_REQUESTS", "false",
     "log \"METHOD path -> status\" per request to stderr (never bodies)",
     true, false},
};

void PrintUsage(std::ostream& out) {
  out << "Usage: leaf_emulator [flags]\n"
         "An in-memory emulator of Leaf's REST API (login, AgLeader "
         "credentials, events)\nwith test controls under /_emulator/.\n\n"
         "Flags (--name=value or --name value; env twin in brackets):\n";
  for (const FlagSpec& f : kFlags) {
    out << "  --" << f.name << (f.is_bool ? "[=true|false]" : "=VALUE")
        << "\n      " << f.help << "\n      default: " << f.default_value
        << "  [env " << f.env << "]\n";
  }
  out << "  --help\n      print this help and exit\n";
}

const FlagSpec* FindFlag(absl::string_view name) {
  for (const FlagSpec& f : kFlags) {
    if (name == f.name) return &f;
  }
  // Plural aliases for the repeatable flags (values comma-separated).
  if (name == "accounts") return FindFlag("account");
  if (name == "tokens") return FindFlag("token");
  return nullptr;
}

std::optional<bool> ParseBool(absl::string_view v) {
  std::string s = absl::AsciiStrToLower(v);
  if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "0" || s == "no" || s == "off") return false;
  return std::nullopt;
}

std::optional<absl::Duration> ParseDurationFlag(absl::string_view v) {
  int64_t seconds;
  if (absl::SimpleAtoi(v, &seconds)) return absl::Seconds(seconds);
  absl::Duration d;
  if (absl::ParseDuration(v, &d)) return d;
  return std::nullopt;
}

int Fail(const std::string& message) {
  std::cerr << "leaf_emulator: " << message << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // name -> values given on the command line (in order).
  std::map<std::string, std::vector<std::string>> given;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h" || arg == "-help") {
      PrintUsage(std::cout);
      return 0;
    }
    if (!absl::ConsumePrefix(&arg, "--") && !absl::ConsumePrefix(&arg, "-")) {
      PrintUsage(std::cerr);
      return Fail(absl::StrCat("unexpected argument '", argv[i], "'"));
    }
    absl::string_view name = arg, value;
    bool has_value = false;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    const FlagSpec* spec = FindFlag(name);
    if (spec == nullptr) {
      PrintUsage(std::cerr);
      return Fail(absl::StrCat("unknown flag --", name));
    }
    if (!has_value) {
      if (spec->is_bool) {
        value = "true";
        if (i + 1 < argc && ParseBool(argv[i + 1])) value = argv[++i];
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return Fail(absl::StrCat("flag --", name, " needs a value"));
      }
    }
    std::vector<std::string>& slot = given[spec->name];
    if (name == "accounts" || name == "tokens") {
      for (absl::string_view part : absl::StrSplit(value, ',', absl::SkipEmpty())) {
        slot.emplace_back(part);
      }
    } else {
      slot.emplace_back(value);
    }
  }

  // Values of a flag: the command line's, else the environment twin's
  // (comma-separated for repeatable flags), else none.
  auto values = [&given](const char* name) -> std::vector<std::string> {
    const FlagSpec* spec = FindFlag(name);
    auto it = given.find(name);
    if (it != given.end()) return it->second;
    const char* env = std::getenv(spec->env);
    if (env == nullptr || *env == '\0') return {};
    if (spec->repeatable) {
      return absl::StrSplit(env, ',', absl::SkipEmpty());
    }
    return {env};
  };
  auto single = [&values](const char* name) -> std::optional<std::string> {
    std::vector<std::string> v = values(name);
    if (v.empty()) return std::nullopt;
    return v.back();
  };

  leafemu::EmulatorOptions options;
  options.host = single("host").value_or("127.0.0.1");
  options.port = 8080;
  if (auto v = single("port")) {
    if (!absl::SimpleAtoi(*v, &options.port) || options.port < 0 ||
        options.port > 65535) {
      return Fail(absl::StrCat("bad --port '", *v, "'"));
    }
  }
  for (const std::string& account : values("account")) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(account, absl::MaxSplits(':', 1));
    if (kv.first.empty() || account.find(':') == std::string::npos) {
      return Fail("bad --account: expected user:password");
    }
    options.accounts[kv.first] = kv.second;
  }
  for (const std::string& token : values("token")) {
    options.static_tokens.push_back(token);
  }
  if (auto v = single("known_users")) {
    options.known_users =
        std::vector<std::string>(absl::StrSplit(*v, ',', absl::SkipEmpty()));
  }
  if (auto v = single("duplicate_mode")) {
    std::string mode = absl::AsciiStrToLower(*v);
    if (mode == "replace") {
      options.duplicate_create_mode = leafemu::DuplicateCreateMode::kReplace;
    } else if (mode == "bad_request") {
      options.duplicate_create_mode = leafemu::DuplicateCreateMode::kBadRequest;
    } else if (mode == "conflict") {
      options.duplicate_create_mode = leafemu::DuplicateCreateMode::kConflict;
    } else {
      return Fail(absl::StrCat("bad --duplicate_mode '", *v,
                               "' (replace | bad_request | conflict)"));
    }
  }
  for (const char* name : {"reject_invalid_refresh_token", "log_requests"}) {
    if (auto v = single(name)) {
      std::optional<bool> b = ParseBool(*v);
      if (!b) return Fail(absl::StrCat("bad --", name, " '", *v, "'"));
      if (absl::string_view(name) == "log_requests") {
        options.log_requests = *b;
      } else {
        options.reject_invalid_refresh_token = *b;
      }
    }
  }
  if (auto v = single("tls_cert_file")) options.tls_cert_file = *v;
  if (auto v = single("tls_key_file")) options.tls_key_file = *v;
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return Fail("--tls_cert_file and --tls_key_file must be set together");
  }
  if (auto v = single("max_recorded_requests")) {
    if (!absl::SimpleAtoi(*v, &options.max_recorded_requests) ||
        options.max_recorded_requests < 1) {
      return Fail(absl::StrCat("bad --max_recorded_requests '", *v, "'"));
    }
  }
  if (auto v = single("token_lifetime")) {
    auto d = ParseDurationFlag(*v);
    if (!d) return Fail(absl::StrCat("bad --token_lifetime '", *v, "'"));
    options.token_lifetime = *d;
  }
  if (auto v = single("remember_me_token_lifetime")) {
    auto d = ParseDurationFlag(*v);
    if (!d) {
      return Fail(absl::StrCat("bad --remember_me_token_lifetime '", *v, "'"));
    }
    options.remember_me_token_lifetime = *d;
  }

  // Handle SIGINT/SIGTERM synchronously: block them before any thread
  // starts (threads inherit the mask), then wait for one below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::string host = options.host;
  auto emulator = leafemu::LeafEmulator::Start(std::move(options));
  if (!emulator.ok()) {
    std::cerr << "leaf_emulator: " << emulator.status() << "\n";
    return 1;
  }
  std::cout << "leaf_emulator listening on " << (*emulator)->base_url() << std::endl;
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  (*emulator)->Stop();
  emulator->reset();
  return 0;
}
