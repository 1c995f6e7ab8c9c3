// Fuzzes ParseLeafTimestamp against an independent reference parser of the
// documented grammar "YYYY-MM-DDTHH:MM:SS[.F{1,9}][Z]" (UTC, real calendar
// dates). Invariants: both accept the same texts and agree on the instant;
// FormatLeafTimestamp output parses back to the instant cut to microseconds;
// an error is INVALID_ARGUMENT and short.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/leaf/timestamp.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/leaf_json_writer.h"

namespace leafsvc::fuzz {
namespace {

struct Reference {
  bool ok = false;
  bool leap_second = false;  // :60, which the contract leaves open
  int year = 0;
  absl::Time time;
};

bool Digits(absl::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysIn(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

Reference Parse(absl::string_view s) {
  Reference r;
  int y, mo, d, h, mi, se;
  if (s.size() < 19 || !Digits(s, 0, 4, &y) || s[4] != '-' || !Digits(s, 5, 2, &mo) ||
      s[7] != '-' || !Digits(s, 8, 2, &d) || s[10] != 'T' || !Digits(s, 11, 2, &h) ||
      s[13] != ':' || !Digits(s, 14, 2, &mi) || s[16] != ':' || !Digits(s, 17, 2, &se)) {
    return r;
  }
  size_t pos = 19;
  int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9' && n < 10) {
      nanos = nanos * 10 + (s[pos] - '0');
      ++pos;
      ++n;
    }
    if (n == 0 || n > 9) return r;
    for (; n < 9; ++n) nanos *= 10;
  }
  if (pos < s.size() && s[pos] == 'Z') ++pos;
  if (pos != s.size()) return r;
  if (mo < 1 || mo > 12 || d < 1 || d > DaysIn(y, mo) || h > 23 || mi > 59 || se > 60) {
    return r;
  }
  r.ok = true;
  r.leap_second = se == 60;
  r.year = y;
  r.time = absl::FromUnixSeconds(DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se) +
           absl::Nanoseconds(nanos);
  return r;
}

void Run(absl::string_view text) {
  const Reference want = Parse(text);
  absl::StatusOr<absl::Time> got = leaf::ParseLeafTimestamp(text);
  if (want.leap_second) return;  // accepting or refusing :60 are both fine

  if (!got.ok()) {
    FUZZ_CHECK(!want.ok, absl::StrCat("refused a valid timestamp \"", Printable(text),
                                      "\": ", got.status().ToString()));
    FUZZ_CHECK(got.status().code() == absl::StatusCode::kInvalidArgument, got.status().ToString());
    // The text is quoted, capped at 40 bytes.
    FUZZ_CHECK(got.status().message().size() <= 120, Printable(got.status().message()));
    return;
  }
  FUZZ_CHECK(want.ok, absl::StrCat("accepted an invalid timestamp \"", Printable(text), "\" as ",
                                   LeafTime(*got)));
  FUZZ_CHECK(*got == want.time,
             absl::StrCat("\"", Printable(text), "\" parsed as ", absl::FormatTime(*got),
                          ", expected ", absl::FormatTime(want.time)));
  if (want.year >= 1000) {  // FormatLeafTimestamp writes years below 1000 with fewer digits
    const std::string formatted = leaf::FormatLeafTimestamp(*got);
    absl::StatusOr<absl::Time> again = leaf::ParseLeafTimestamp(formatted);
    FUZZ_CHECK(again.ok() && *again == FloorMicros(*got),
               absl::StrCat("\"", formatted, "\" did not parse back to ", LeafTime(*got)));
  }
}

}  // namespace
}  // namespace leafsvc::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  leafsvc::fuzz::Run(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
