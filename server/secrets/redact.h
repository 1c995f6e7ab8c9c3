// The one place where text on its way out of the process (a gRPC status
// message, an ErrorInfo metadata value, a log field) loses every secret it
// may quote. Text from elsewhere (Leaf's error messages, a caller's request
// id) can hold anything this service was sent or holds, so it is redacted as
// a whole, and only then shortened: a cut made first could split a secret and
// leave part of it behind.
//
// What is redacted (each match becomes "[redacted]"):
//  - every run of 8 or more bytes that also occurs in one of the secrets, so
//    a secret quoted in part (Leaf's own truncation, a prefix, the middle of
//    a private key) is caught as well as a whole one; secrets of 4 to 7
//    bytes are redacted where they occur whole;
//  - the secrets of the call (given to Redactor) and those of the process
//    (RegisterProcessSecret: Leaf token, login password, API keys, page-token
//    key), however long (the request limit is 8 KiB);
//  - JWT-shaped strings: "eyJ" + base64url, ".", base64url, ".", base64url.
// The marker itself is never treated as a secret's run, so a secret that
// happens to contain "[redacted]" cannot make redaction loop.
#ifndef SERVER_SECRETS_REDACT_H_
#define SERVER_SECRETS_REDACT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace leafsvc {

inline constexpr absl::string_view kRedacted = "[redacted]";

// The shortest run of a secret that is redacted wherever it appears.
inline constexpr size_t kSecretRunBytes = 8;
// Shorter secrets than this are not redacted at all (they would match
// ordinary words).
inline constexpr size_t kMinSecretBytes = 4;

// Adds `secret` to the secrets every Redactor covers, for the life of the
// process. Thread-safe; meant for start-up (config, App::Start).
void RegisterProcessSecret(absl::string_view secret);

// How many of the latest rotating secrets stay covered.
inline constexpr size_t kRecentSecrets = 8;

// Adds a secret that replaces earlier ones over time (each Leaf token got by
// login): Redactors cover the last kRecentSecrets of them. Costs the length
// of `secret`, not of the secrets already held. Thread-safe.
void RegisterRotatingSecret(absl::string_view secret);

// A set of secrets compiled for fast matching.
class SecretSet {
 public:
  SecretSet() = default;
  explicit SecretSet(absl::Span<const absl::string_view> secrets);

  void Add(absl::string_view secret);
  bool empty() const { return runs_.empty() && whole_.empty(); }

  // Marks in `hit` (one flag per byte of `text`) every byte covered by a
  // secret's run or a whole short secret.
  void Mark(absl::string_view text, std::vector<bool>& hit) const;

 private:
  // Every 8-byte window of every secret, as a 64-bit word.
  absl::flat_hash_set<uint64_t> runs_;
  std::vector<std::string> whole_;  // secrets of 4 to 7 bytes
};

class Redactor {
 public:
  // Covers `call_secrets`, the process's registered secrets and JWTs.
  explicit Redactor(absl::Span<const absl::string_view> call_secrets = {});

  // `text` with every secret replaced (valid UTF-8 stays valid UTF-8).
  std::string Redact(absl::string_view text) const;

  // Redact, then Shorten.
  std::string RedactAndShorten(absl::string_view text, size_t max_bytes) const;

 private:
  bool Covers(absl::string_view text) const;
  void Mark(absl::string_view text, std::vector<bool>& hit) const;
  SecretSet call_;
  std::shared_ptr<const SecretSet> process_;
  // The latest rotating secrets, one set each (shared, never copied).
  std::shared_ptr<const std::vector<std::shared_ptr<const SecretSet>>> recent_;
};

// `text` shortened to at most `max_bytes` (+3 for "..."), never inside a
// UTF-8 character; "..." marks a cut. Only for text already redacted.
std::string Shorten(absl::string_view text, size_t max_bytes);

}  // namespace leafsvc

#endif  // SERVER_SECRETS_REDACT_H_
