#include "server/security/api_keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace leafsvc {
namespace {

// Why `key` is not acceptable, or "" when it is. Never includes the key.
std::string KeyProblem(absl::string_view key) {
  for (char c : key) {
    if (c <= ' ' || c > '~') return "holds a space or a non-printable character";
  }
  if (key.size() < kMinApiKeyLength) {
    return absl::StrCat("is shorter than ", kMinApiKeyLength, " characters");
  }
  return "";
}

using Digest = std::array<unsigned char, 32>;

Digest Sha256(absl::string_view data) {
  Digest digest{};
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != digest.size()) {
    // Only possible when OpenSSL itself is broken; never accept a key then.
    std::abort();
  }
  return digest;
}

}  // namespace

absl::StatusOr<std::vector<Secret>> ParseApiKeysFile(absl::string_view contents,
                                                     absl::string_view source) {
  std::vector<Secret> keys;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(contents, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    const std::string problem = KeyProblem(line);
    if (!problem.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": the key on line ", line_number, " ", problem,
                       " (keys are printable ASCII without spaces, at least ", kMinApiKeyLength,
                       " characters)"));
    }
    keys.emplace_back(std::string(line));
  }
  if (keys.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": holds no key (one key per line; blank lines and # comments are skipped)"));
  }
  return keys;
}

absl::StatusOr<std::vector<Secret>> ParseApiKeyList(absl::string_view list,
                                                    absl::string_view source) {
  std::vector<Secret> keys;
  int position = 0;
  for (absl::string_view item : absl::StrSplit(list, ',')) {
    ++position;
    item = absl::StripAsciiWhitespace(item);
    if (item.empty()) continue;
    const std::string problem = KeyProblem(item);
    if (!problem.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": key number ", position, " ", problem,
                       " (keys are printable ASCII without spaces, at least ", kMinApiKeyLength,
                       " characters, separated by commas)"));
    }
    keys.emplace_back(std::string(item));
  }
  if (keys.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": holds no key"));
  }
  return keys;
}

std::optional<absl::string_view> BearerKey(absl::string_view authorization) {
  constexpr absl::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme) ||
      authorization[kScheme.size()] != ' ') {
    return std::nullopt;
  }
  absl::string_view key = absl::StripAsciiWhitespace(authorization.substr(kScheme.size()));
  if (key.empty()) return std::nullopt;
  return key;
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  const Digest da = Sha256(a);
  const Digest db = Sha256(b);
  return CRYPTO_memcmp(da.data(), db.data(), da.size()) == 0;
}

ApiKeySet::ApiKeySet(const std::vector<Secret>& keys) {
  digests_.reserve(keys.size());
  for (const Secret& key : keys) digests_.push_back(Sha256(key.Reveal()));
}

bool ApiKeySet::Contains(absl::string_view presented) const {
  const Digest digest = Sha256(presented);
  int matches = 0;
  for (const Digest& d : digests_) {
    matches |= CRYPTO_memcmp(d.data(), digest.data(), digest.size()) == 0;
  }
  return matches != 0;
}

}  // namespace leafsvc
