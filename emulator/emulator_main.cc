// leaf_emulator: runs the Leaf REST emulator (leaf_emulator.h) as a process.
//
// Flags use the project's flag table (server/config/flags.h): --name=value or
// --name value, each with an environment twin LEAF_EMULATOR_<NAME>; a flag on
// the command line wins over its twin. Prints "leaf_emulator listening on
// http(s)://HOST:PORT" once ready, serves until SIGTERM or SIGINT, then stops
// and exits 0.
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "emulator/leaf_emulator.h"
#include "server/config/flags.h"
#include "server/platform/stop_signals.h"

namespace {

using leafsvc::FlagSet;

FlagSet EmulatorFlags() {
  using T = FlagSet::Type;
  FlagSet f("LEAF_EMULATOR_");
  f.Add("host", T::kString, "127.0.0.1", "address to listen on");
  f.Add("port", T::kInt, "8080", "port to listen on (0: pick one)");
  f.Add("account", T::kList, "",
        "login account user:password; repeatable (environment: comma-separated)");
  f.SetEnvName("account", "LEAF_EMULATOR_ACCOUNTS");
  f.Add("token", T::kList, "",
        "static bearer token accepted without login; repeatable (environment: comma-separated)");
  f.SetEnvName("token", "LEAF_EMULATOR_TOKENS");
  f.Add("known_users", T::kString, "",
        "comma-separated Leaf user ids that exist; others get 404 (empty: any well-formed id)");
  f.Add("duplicate_mode", T::kString, "replace",
        "POST over existing credentials: replace | bad_request | conflict");
  f.Add("reject_invalid_refresh_token", T::kBool, "false",
        "refuse refresh tokens starting with \"invalid\" at POST (400) instead of storing them "
        "as UNAUTHENTICATED");
  f.Add("token_lifetime", T::kDuration, "24h", "lifetime of login tokens without rememberMe");
  f.Add("remember_me_token_lifetime", T::kDuration, "720h",
        "lifetime of login tokens with rememberMe");
  f.Add("alert_retry_scale", T::kString, "1",
        "multiplies Leaf's webhook retry schedule (1, 30, 60, 240 minutes), e.g. 0.001 in tests");
  f.Add("max_recorded_requests", T::kInt, "100000",
        "requests kept for GET /_emulator/requests (oldest dropped first)");
  f.Add("tls_cert_file", T::kString, "", "serve HTTPS with this PEM certificate chain");
  f.Add("tls_key_file", T::kString, "", "PEM private key of --tls_cert_file");
  f.Add("seed_users", T::kInt, "0",
        "start with this many Leaf users in the --seed_mix of credential states (GET /users)");
  f.Add("seed_mix", T::kString,
        "OK=70,UNAUTHENTICATED=10,MISSING_PERMISSION=5,"
        "TEMPORARILY_UNAVAILABLE=5,NONE=10",
        "weights of the seeded users' states, STATUS=WEIGHT,...; NONE: no AgLeader credentials");
  f.Add("seed", T::kInt, "1", "seed of the seeded users' ids and states");
  f.Add("rate_limit_per_minute", T::kInt, "0",
        "Leaf's request limit: at most this many requests per API owner in any 60 s (all "
        "endpoints together); the rest get the gateway's 429 (0: no limit)");
  f.SetRange("rate_limit_per_minute", 0, 1000000000);
  f.Add("rate_limit_retry_after", T::kInt, "",
        "seconds for a Retry-After header on the request limit's 429s (unset: no header, as "
        "Leaf's later draft)");
  f.SetRange("rate_limit_retry_after", 0, 86400);
  f.Add("agfiniti_app", T::kList, "",
        "AgFiniti application PUBLIC_KEY:PRIVATE_KEY served under /agfiniti/; repeatable "
        "(environment: comma-separated)");
  f.SetEnvName("agfiniti_app", "LEAF_EMULATOR_AGFINITI_APPS");
  f.Add("agfiniti_app_name", T::kString, "", "name the consent page shows for --agfiniti_app");
  f.Add("agfiniti_redirect_uri", T::kList, "",
        "redirect URI registered (exact match) for every --agfiniti_app; repeatable "
        "(environment: comma-separated)");
  f.SetEnvName("agfiniti_redirect_uri", "LEAF_EMULATOR_AGFINITI_REDIRECT_URIS");
  f.Add("agfiniti_grower", T::kList, "",
        "AgFiniti grower account USER:PASSWORD; with one, refresh tokens posted to Leaf are "
        "checked against AgFiniti; repeatable (environment: comma-separated)");
  f.SetEnvName("agfiniti_grower", "LEAF_EMULATOR_AGFINITI_GROWERS");
  f.Add("log_requests", T::kBool, "false",
        "log \"METHOD path -> status\" per request to stderr (never bodies)");
  return f;
}

int Fail(const std::string& message) {
  std::cerr << "leaf_emulator: " << message << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const leafsvc::StopSignals stop_signals = leafsvc::StopSignals::Block();
  FlagSet flags = EmulatorFlags();
  if (absl::Status st = flags.Parse(argc, argv); !st.ok()) return Fail(std::string(st.message()));
  if (flags.help_requested()) {
    std::cout << flags.Help(
        "Usage: leaf_emulator [flags]\nAn in-memory emulator of Leaf's REST API (login, "
        "AgLeader credentials, events)\nwith test controls under /_emulator/.");
    return 0;
  }
  if (!flags.positional().empty()) {
    return Fail(absl::StrCat("unexpected argument '", flags.positional()[0], "' (see --help)"));
  }

  leafemu::EmulatorOptions options;
  options.host = flags.GetString("host");
  const int64_t port = flags.GetInt("port");
  if (port < 0 || port > 65535) return Fail(absl::StrCat("bad --port ", port));
  options.port = static_cast<int>(port);
  for (const std::string& account : flags.GetList("account")) {
    std::pair<std::string, std::string> kv = absl::StrSplit(account, absl::MaxSplits(':', 1));
    if (kv.first.empty() || account.find(':') == std::string::npos) {
      return Fail("bad --account: expected user:password");
    }
    options.accounts[kv.first] = kv.second;
  }
  options.static_tokens = flags.GetList("token");
  if (!flags.GetString("known_users").empty()) {
    options.known_users = std::vector<std::string>(
        absl::StrSplit(flags.GetString("known_users"), ',', absl::SkipEmpty()));
  }
  const std::string mode = absl::AsciiStrToLower(flags.GetString("duplicate_mode"));
  if (mode == "replace") {
    options.duplicate_create_mode = leafemu::DuplicateCreateMode::kReplace;
  } else if (mode == "bad_request") {
    options.duplicate_create_mode = leafemu::DuplicateCreateMode::kBadRequest;
  } else if (mode == "conflict") {
    options.duplicate_create_mode = leafemu::DuplicateCreateMode::kConflict;
  } else {
    return Fail(
        absl::StrCat("bad --duplicate_mode '", mode, "' (replace | bad_request | conflict)"));
  }
  options.reject_invalid_refresh_token = flags.GetBool("reject_invalid_refresh_token");
  options.log_requests = flags.GetBool("log_requests");
  options.token_lifetime = flags.GetDuration("token_lifetime");
  options.remember_me_token_lifetime = flags.GetDuration("remember_me_token_lifetime");
  options.max_recorded_requests = static_cast<int>(flags.GetInt("max_recorded_requests"));
  if (options.max_recorded_requests < 1) return Fail("--max_recorded_requests must be >= 1");
  if (!absl::SimpleAtod(flags.GetString("alert_retry_scale"), &options.alert_retry_scale) ||
      options.alert_retry_scale < 0) {
    return Fail("--alert_retry_scale must be a number >= 0");
  }
  options.rate_limit_per_minute = static_cast<int>(flags.GetInt("rate_limit_per_minute"));
  if (flags.IsSet("rate_limit_retry_after")) {
    options.rate_limit_retry_after_seconds =
        static_cast<int>(flags.GetInt("rate_limit_retry_after"));
  }
  options.tls_cert_file = flags.GetString("tls_cert_file");
  options.tls_key_file = flags.GetString("tls_key_file");
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return Fail("--tls_cert_file and --tls_key_file must be set together");
  }

  for (const std::string& app : flags.GetList("agfiniti_app")) {
    std::pair<std::string, std::string> kv = absl::StrSplit(app, absl::MaxSplits(':', 1));
    if (kv.first.empty() || kv.second.empty()) {
      return Fail("bad --agfiniti_app: expected PUBLIC_KEY:PRIVATE_KEY");
    }
    leafemu::AgFinitiApp a;
    a.public_key = kv.first;
    a.private_key = kv.second;
    a.name = flags.GetString("agfiniti_app_name");
    a.redirect_uris = flags.GetList("agfiniti_redirect_uri");
    options.agfiniti.apps.push_back(std::move(a));
  }
  if (options.agfiniti.apps.empty() && !flags.GetList("agfiniti_redirect_uri").empty()) {
    return Fail("--agfiniti_redirect_uri needs an --agfiniti_app");
  }
  for (const std::string& grower : flags.GetList("agfiniti_grower")) {
    std::pair<std::string, std::string> kv = absl::StrSplit(grower, absl::MaxSplits(':', 1));
    if (kv.first.empty() || grower.find(':') == std::string::npos) {
      return Fail("bad --agfiniti_grower: expected USER:PASSWORD");
    }
    options.agfiniti.growers[kv.first] = kv.second;
  }

  leafemu::SeedSpec seed_spec;
  const int64_t seed_users = flags.GetInt("seed_users");
  if (seed_users < 0 || seed_users > 1000000) return Fail("--seed_users must be 0 to 1000000");
  seed_spec.users = static_cast<int>(seed_users);
  seed_spec.seed = static_cast<uint64_t>(flags.GetInt("seed"));
  absl::StatusOr<std::map<std::string, double>> mix =
      leafemu::ParseSeedMix(flags.GetString("seed_mix"));
  if (!mix.ok()) return Fail(std::string(mix.status().message()));
  seed_spec.mix = *std::move(mix);

  auto emulator = leafemu::LeafEmulator::Start(std::move(options));
  if (!emulator.ok()) {
    std::cerr << "leaf_emulator: " << emulator.status() << "\n";
    return 1;
  }
  if (seed_spec.users > 0) {
    // stderr: stdout's first line is the address, which scripts read.
    std::cerr << "leaf_emulator seeded " << leafemu::SeedResultJson((*emulator)->Seed(seed_spec))
              << std::endl;
  }
  std::cout << "leaf_emulator listening on " << (*emulator)->base_url() << std::endl;
  std::fflush(stdout);

  stop_signals.Wait();
  (*emulator)->Stop();
  emulator->reset();
  return 0;
}
