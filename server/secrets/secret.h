// A string that must never reach a log line, an error message or a default
// response. Streaming it (operator<<) shows "[redacted]"; absl::StrCat and
// StrFormat do not accept it at all, so it cannot be formatted by accident.
// The value is reachable only through the explicitly named Reveal().
//
// Every buffer a Secret owns is wiped (OPENSSL_cleanse, which the compiler
// cannot drop) before it is released: on destruction, on assignment over it,
// on Wipe(), and in the moved-from Secret or std::string of a move (a short
// value lives inside the string object itself, so a move copies it rather
// than stealing a heap buffer). Copies the caller makes of Reveal() are the
// caller's to wipe.
#ifndef SERVER_SECRETS_SECRET_H_
#define SERVER_SECRETS_SECRET_H_

#include <ostream>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace leafsvc {

// Overwrites s's whole buffer (capacity, not just size) with zeros and
// empties it; the buffer itself is kept.
void WipeString(std::string& s);

class Secret {
 public:
  Secret() = default;
  // Takes the buffer of `value` and wipes what is left in `value`.
  explicit Secret(std::string&& value) : value_(std::move(value)) { WipeString(value); }
  explicit Secret(const std::string& value) : value_(value) {}
  explicit Secret(absl::string_view value) : value_(value) {}
  explicit Secret(const char* value) : value_(value) {}

  Secret(const Secret& other) : value_(other.value_) {}
  Secret(Secret&& other) noexcept : value_(std::move(other.value_)) { WipeString(other.value_); }
  Secret& operator=(const Secret& other);
  Secret& operator=(Secret&& other) noexcept;
  ~Secret() { WipeString(value_); }

  // The secret value itself. Call only to put it on the wire to Leaf or into
  // an explicitly requested full view.
  const std::string& Reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  // Wipes the value now (the Secret is then empty), for a secret no longer
  // needed by an object that lives on.
  void Wipe() { WipeString(value_); }

  // "****" + last 4 characters for values of 12+ characters, "****" for
  // shorter ones, "" when empty: enough to tell two secrets apart, not
  // enough to use one.
  std::string Hint() const;

  friend bool operator==(const Secret& a, const Secret& b) { return a.value_ == b.value_; }
  friend bool operator!=(const Secret& a, const Secret& b) { return !(a == b); }

  friend std::ostream& operator<<(std::ostream& os, const Secret&) { return os << "[redacted]"; }

 private:
  std::string value_;
};

inline std::string Secret::Hint() const {
  if (value_.empty()) return "";
  if (value_.size() < 12) return "****";
  return "****" + value_.substr(value_.size() - 4);
}

}  // namespace leafsvc

#endif  // SERVER_SECRETS_SECRET_H_
