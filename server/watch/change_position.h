// Where a change sits in the log of observed states that resume tokens
// point into: a Redis stream id ("<ms>-<seq>") in fleet mode, a counter of
// this process (ms = 0) otherwise. Totally ordered within one log.
#ifndef SERVER_WATCH_CHANGE_POSITION_H_
#define SERVER_WATCH_CHANGE_POSITION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace leafsvc::watch {

struct ChangePosition {
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;

  friend bool operator<(const ChangePosition& a, const ChangePosition& b) {
    return std::tie(a.ms, a.seq) < std::tie(b.ms, b.seq);
  }
  friend bool operator==(const ChangePosition& a, const ChangePosition& b) {
    return a.ms == b.ms && a.seq == b.seq;
  }
  friend bool operator!=(const ChangePosition& a, const ChangePosition& b) { return !(a == b); }
  friend bool operator<=(const ChangePosition& a, const ChangePosition& b) { return !(b < a); }
  friend bool operator>(const ChangePosition& a, const ChangePosition& b) { return b < a; }
  friend bool operator>=(const ChangePosition& a, const ChangePosition& b) { return !(a < b); }

  // "<ms>-<seq>", as Redis writes stream ids.
  std::string ToString() const { return absl::StrCat(ms, "-", seq); }
  // Parses "<ms>-<seq>" (both decimal, no sign); nullopt otherwise.
  static std::optional<ChangePosition> Parse(absl::string_view text) {
    const size_t dash = text.find('-');
    if (dash == absl::string_view::npos || dash == 0 || dash + 1 == text.size()) {
      return std::nullopt;
    }
    ChangePosition p;
    for (char c : text) {
      if (c != '-' && (c < '0' || c > '9')) return std::nullopt;
    }
    if (!absl::SimpleAtoi(text.substr(0, dash), &p.ms) ||
        !absl::SimpleAtoi(text.substr(dash + 1), &p.seq)) {
      return std::nullopt;
    }
    return p;
  }
};

}  // namespace leafsvc::watch

#endif  // SERVER_WATCH_CHANGE_POSITION_H_
