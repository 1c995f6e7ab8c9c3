#include "emulator/seed.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "emulator/ids.h"
#include "emulator/json.h"

namespace leafemu {
namespace {

constexpr int kMaxSeedUsers = 1000000;

std::string SeededUuid(std::mt19937_64& rng) {
  const std::uint64_t hi = rng(), lo = rng();
  // Version 4 and the RFC 4122 variant, like Leaf's ids.
  return absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", hi >> 32, (hi >> 16) & 0xffff, hi & 0xfff,
                         0x8000 | ((lo >> 48) & 0x3fff), lo & 0xffffffffffffULL);
}

// Shares of `total` by weight, largest remainders first, so they add up.
std::vector<std::pair<std::string, int>> Apportion(const std::map<std::string, double>& mix,
                                                   int total) {
  double sum = 0;
  for (const auto& [status, w] : mix) sum += w;
  std::vector<std::pair<std::string, int>> counts;
  std::vector<std::pair<double, size_t>> remainders;
  int given = 0;
  for (const auto& [status, w] : mix) {
    const double exact = sum > 0 ? total * w / sum : 0;
    counts.emplace_back(status, static_cast<int>(std::floor(exact)));
    remainders.emplace_back(exact - std::floor(exact), counts.size() - 1);
    given += counts.back().second;
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = 0; given < total && i < remainders.size(); ++i, ++given) {
    ++counts[remainders[i].second].second;
  }
  return counts;
}

}  // namespace

SeedResult Seed(Store& store, const SeedSpec& spec, const ProviderSpec& provider) {
  std::mt19937_64 rng(spec.seed);
  std::vector<std::string> statuses;
  SeedResult result;
  for (const auto& [status, n] : Apportion(spec.mix, spec.users)) {
    result.counts[status] = n;
    statuses.insert(statuses.end(), n, status);
  }
  std::shuffle(statuses.begin(), statuses.end(), rng);
  const absl::Time base = absl::FromUnixSeconds(1704067200);  // 2024-01-01
  for (size_t i = 0; i < statuses.size(); ++i) {
    const std::string user = SeededUuid(rng);
    result.users.emplace_back(user, statuses[i]);
    if (statuses[i] == kSeedNoCredentials) {
      store.AddUser(user);
      continue;
    }
    StoredCredentials c;
    c.id = SeededUuid(rng);
    c.status = statuses[i];
    c.created_time = FormatTimestamp(base + absl::Seconds(static_cast<int64_t>(i) * 37) +
                                     absl::Microseconds(rng() % 1000000));
    for (const auto& field : provider.fields) {
      if (!field.required && i % 2 != 0) continue;
      auto prefix = provider.emulator.seed_prefixes.find(field.json_name);
      const std::string p = prefix != provider.emulator.seed_prefixes.end()
                                ? prefix->second
                                : absl::StrCat("seeded-", field.json_name);
      c.fields[field.json_name] =
          field.secret ? absl::StrFormat("%s-%016x", p, rng()) : absl::StrCat(p, "-", i);
    }
    store.Put(user, std::move(c));
  }
  return result;
}

absl::StatusOr<SeedSpec> SeedSpecFromJson(absl::string_view json) {
  rapidjson::Document doc;
  if (!ParseObject(std::string(json), doc)) {
    return absl::InvalidArgumentError("expected {\"users\":N,\"mix\":{...},\"seed\":S}");
  }
  SeedSpec spec;
  std::optional<int64_t> users = IntMember(doc, "users");
  if (!users || *users < 0 || *users > kMaxSeedUsers) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"users\" must be an integer from 0 to ", kMaxSeedUsers));
  }
  spec.users = static_cast<int>(*users);
  if (std::optional<int64_t> seed = IntMember(doc, "seed")) {
    spec.seed = static_cast<std::uint64_t>(*seed);
  }
  auto mix = doc.FindMember("mix");
  if (mix != doc.MemberEnd()) {
    if (!mix->value.IsObject()) return absl::InvalidArgumentError("\"mix\" must be an object");
    spec.mix.clear();
    for (const auto& m : mix->value.GetObject()) {
      if (!m.value.IsNumber() || m.value.GetDouble() < 0) {
        return absl::InvalidArgumentError("\"mix\" weights must be non-negative numbers");
      }
      spec.mix[m.name.GetString()] = m.value.GetDouble();
    }
  }
  return spec;
}

absl::StatusOr<std::map<std::string, double>> ParseSeedMix(absl::string_view text) {
  std::map<std::string, double> mix;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(part, '=');
    double w = 0;
    if (kv.first.empty() || !absl::SimpleAtod(kv.second, &w) || w < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad --seed_mix entry \"", part, "\": expected STATUS=WEIGHT"));
    }
    mix[std::string(kv.first)] = w;
  }
  if (mix.empty()) return absl::InvalidArgumentError("--seed_mix is empty");
  return mix;
}

std::string SeedResultJson(const SeedResult& result) {
  std::string counts;
  for (const auto& [status, n] : result.counts) {
    absl::StrAppend(&counts, counts.empty() ? "" : ",", JsonQuote(status), ":", n);
  }
  return absl::StrCat("{\"users\":", result.users.size(), ",\"counts\":{", counts, "}}");
}

}  // namespace leafemu
