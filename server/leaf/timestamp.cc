#include "server/leaf/timestamp.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace leafsvc::leaf {
namespace {

// Reads exactly `n` digits at `pos`.
bool ReadDigits(absl::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

absl::Status Invalid(absl::string_view text, absl::string_view why) {
  // The text itself is not quoted: decode errors never repeat what Leaf sent.
  return absl::InvalidArgumentError(
      absl::StrCat("invalid timestamp (", text.size(), " characters): ", why));
}

}  // namespace

absl::StatusOr<absl::Time> ParseLeafTimestamp(absl::string_view text) {
  int year, month, day, hour, minute, second;
  if (!ReadDigits(text, 0, 4, &year) || text.size() < 19 || text[4] != '-' ||
      !ReadDigits(text, 5, 2, &month) || text[7] != '-' || !ReadDigits(text, 8, 2, &day) ||
      text[10] != 'T' || !ReadDigits(text, 11, 2, &hour) || text[13] != ':' ||
      !ReadDigits(text, 14, 2, &minute) || text[16] != ':' || !ReadDigits(text, 17, 2, &second)) {
    return Invalid(text, "expected YYYY-MM-DDTHH:MM:SS");
  }
  size_t pos = 19;
  int64_t nanos = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[pos]))) {
      if (++digits > 9) return Invalid(text, "more than 9 fraction digits");
      nanos = nanos * 10 + (text[pos] - '0');
      ++pos;
    }
    if (digits == 0) return Invalid(text, "no digits after '.'");
    for (int i = digits; i < 9; ++i) nanos *= 10;
  }
  if (pos < text.size() && text[pos] == 'Z') ++pos;
  if (pos != text.size()) return Invalid(text, "unexpected trailing characters");
  // No leap seconds: Leaf's timestamps are java.time.Instant, which has none.
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    return Invalid(text, "field out of range");
  }
  absl::CivilSecond civil(year, month, day, hour, minute, second);
  // CivilSecond normalizes out-of-range values (Feb 30 -> Mar 2): refuse them.
  if (civil.year() != year || civil.month() != month || civil.day() != day ||
      civil.hour() != hour || civil.minute() != minute || civil.second() != second) {
    return Invalid(text, "no such date");
  }
  return absl::FromCivil(civil, absl::UTCTimeZone()) + absl::Nanoseconds(nanos);
}

std::string FormatLeafTimestamp(absl::Time time) {
  return absl::FormatTime("%E4Y-%m-%dT%H:%M:%E6SZ", time, absl::UTCTimeZone());
}

}  // namespace leafsvc::leaf
