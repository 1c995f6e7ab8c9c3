// Caller API keys: parsing them from a keys file or a comma-separated flag,
// and checking a presented key in constant time. Only SHA-256 digests of the
// keys are kept, and every comparison is over two digests of the same length,
// so neither a key's content nor its length shows in how long a check takes.
#ifndef SERVER_SECURITY_API_KEYS_H_
#define SERVER_SECURITY_API_KEYS_H_

#include <array>
#include <cstddef>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/secrets/secret.h"

namespace leafsvc {

// Shorter keys are refused: they could be guessed.
inline constexpr std::size_t kMinApiKeyLength = 16;

// Keys from the text of an API keys file: one key per line; surrounding
// whitespace is trimmed; blank lines and lines starting with '#' are skipped.
// A key is printable ASCII without spaces, at least kMinApiKeyLength long.
// Errors name `source` (e.g. "--api_keys_file /etc/keys") and the line
// number, never the line's content. A file without any key is an error.
absl::StatusOr<std::vector<Secret>> ParseApiKeysFile(absl::string_view contents,
                                                     absl::string_view source);

// Keys from a comma-separated list (empty items are skipped); the same rules,
// errors name `source` and the item's position. An empty list is an error.
absl::StatusOr<std::vector<Secret>> ParseApiKeyList(absl::string_view list,
                                                    absl::string_view source);

// The key in an `authorization` metadata value "Bearer <key>" (scheme
// case-insensitive), or nullopt when the value has another form.
std::optional<absl::string_view> BearerKey(absl::string_view authorization);

// Whether a == b, taking the same time whatever their contents and lengths:
// compares SHA-256 digests of both with CRYPTO_memcmp.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// The accepted keys, kept as digests.
class ApiKeySet {
 public:
  ApiKeySet() = default;
  explicit ApiKeySet(const std::vector<Secret>& keys);

  bool empty() const { return digests_.empty(); }
  std::size_t size() const { return digests_.size(); }

  // Whether `presented` is one of the keys. Compares against every key
  // (no early exit), each in constant time.
  bool Contains(absl::string_view presented) const;

 private:
  std::vector<std::array<unsigned char, 32>> digests_;  // SHA-256 of each key
};

}  // namespace leafsvc

#endif  // SERVER_SECURITY_API_KEYS_H_
