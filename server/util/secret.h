// A string that must never reach a log line, an error message or a default
// response. Streaming it (operator<<) shows "[redacted]"; absl::StrCat and
// StrFormat do not accept it at all, so it cannot be formatted by accident.
// The value is reachable only through the explicitly named Reveal().
#ifndef SERVER_UTIL_SECRET_H_
#define SERVER_UTIL_SECRET_H_

#include <ostream>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace leafsvc {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}

  // The secret value itself. Call only to put it on the wire to Leaf or into
  // an explicitly requested full view.
  const std::string& Reveal() const { return value_; }
  bool empty() const { return value_.empty(); }

  // "****" + last 4 characters for values of 12+ characters, "****" for
  // shorter ones, "" when empty: enough to tell two secrets apart, not
  // enough to use one.
  std::string Hint() const;

  friend bool operator==(const Secret& a, const Secret& b) {
    return a.value_ == b.value_;
  }
  friend bool operator!=(const Secret& a, const Secret& b) { return !(a == b); }

  friend std::ostream& operator<<(std::ostream& os, const Secret&) {
    return os << "[redacted]";
  }

 private:
  std::string value_;
};

inline std::string Secret::Hint() const {
  if (value_.empty()) return "";
  if (value_.size() < 12) return "****";
  return "****" + value_.substr(value_.size() - 4);
}

}  // namespace leafsvc

#endif  // SERVER_UTIL_SECRET_H_
