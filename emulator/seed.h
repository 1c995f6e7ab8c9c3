// Seeding the emulator with many Leaf users in mixed credential states, so a
// fleet-wide audit (ListCredentials, BatchGetCredentials) can be run against
// thousands of growers. Deterministic: the same spec gives the same users.
#ifndef EMULATOR_SEED_H_
#define EMULATOR_SEED_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "emulator/store.h"

namespace leafemu {

// The pseudo-status of a seeded user without credentials.
inline constexpr char kSeedNoCredentials[] = "NONE";

struct SeedSpec {
  int users = 0;
  // Weight per status ("OK", "UNAUTHENTICATED", ... or kSeedNoCredentials);
  // counts are the weights' shares of `users`, rounded so they add up.
  std::map<std::string, double> mix = {{"OK", 70},
                                       {"UNAUTHENTICATED", 10},
                                       {"MISSING_PERMISSION", 5},
                                       {"TEMPORARILY_UNAVAILABLE", 5},
                                       {kSeedNoCredentials, 10}};
  std::uint64_t seed = 1;
};

struct SeedResult {
  std::map<std::string, int> counts;                       // status -> users
  std::vector<std::pair<std::string, std::string>> users;  // (id, status), in seeding order
};

// Adds the users to `store` (existing users stay), with `provider`'s fields:
// secret ones "<prefix>-<16 hex digits>" (long enough to have hints), public
// ones "<prefix>-<n>", fields create does not require on every other user
// only (prefixes: ProviderSpec::emulator.seed_prefixes).
SeedResult Seed(Store& store, const SeedSpec& spec, const ProviderSpec& provider);

// {"users":N,"mix":{"OK":70,...},"seed":S}; mix and seed optional.
absl::StatusOr<SeedSpec> SeedSpecFromJson(absl::string_view json);
// "OK=70,UNAUTHENTICATED=10,NONE=20" (the emulator binary's --seed_mix).
absl::StatusOr<std::map<std::string, double>> ParseSeedMix(absl::string_view text);
// {"users":N,"counts":{"OK":n,...}}
std::string SeedResultJson(const SeedResult& result);

}  // namespace leafemu

#endif  // EMULATOR_SEED_H_
