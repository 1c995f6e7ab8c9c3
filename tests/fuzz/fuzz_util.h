// Helpers shared by the libFuzzer targets in this folder: a check that aborts
// (so libFuzzer records the input as a crash), the marker secret that no
// error may echo, and the full text of a status (message and every payload).
#ifndef TESTS_FUZZ_FUZZ_UTIL_H_
#define TESTS_FUZZ_FUZZ_UTIL_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/observability/log.h"

namespace leafsvc::fuzz {

// Seeds put this where a secret would be (refreshToken, privateKey,
// accessToken, id_token); mutations move it everywhere else.
inline constexpr absl::string_view kMarker = "SECRET-MARKER";

[[noreturn]] inline void Fail(const char* file, int line, const char* cond,
                              const std::string& detail) {
  std::fprintf(stderr, "\n==FUZZ INVARIANT FAILED== %s:%d: %s\n%s\n", file, line, cond,
               detail.c_str());
  std::fflush(stderr);
  std::abort();
}

// Aborts with `detail` (a std::string, built only on failure) unless `cond`.
#define FUZZ_CHECK(cond, detail)                                             \
  do {                                                                       \
    if (!(cond)) ::leafsvc::fuzz::Fail(__FILE__, __LINE__, #cond, (detail)); \
  } while (0)

// The message and every payload (type URL and value) of `status`: everything
// that may reach a caller or a log line.
inline std::string StatusText(const absl::Status& status) {
  std::string text(status.message());
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    absl::StrAppend(&text, "\n", url, "=", std::string(payload));
  });
  return text;
}

// True when `finding` is listed in the comma-separated FUZZ_IGNORE variable:
// a long run can then go on past a known, reported finding (run_fuzzers.sh
// also skips regression inputs named after it). Unset in the test suite.
inline bool Ignored(absl::string_view finding) {
  static const std::string* list = [] {
    const char* env = std::getenv("FUZZ_IGNORE");
    return new std::string(absl::StrCat(",", env ? env : "", ","));
  }();
  return absl::StrContains(*list, absl::StrCat(",", finding, ","));
}

// Aborts unless a decoded string, bound for a proto3 string field (which
// other languages' parsers refuse unless it is UTF-8), is valid UTF-8.
// Known finding "escaped-surrogate": RapidJSON decodes a lone low surrogate
// escape (\udc00-\udfff) to bytes that are not UTF-8; while it is ignored,
// returns false for such a value (its JSON round trip cannot hold either).
inline bool CheckDecodedUtf8(absl::string_view field, absl::string_view value);

// Printable form for failure messages (control and non-ASCII bytes escaped).
inline std::string Printable(absl::string_view s, size_t max = 400) {
  std::string out;
  for (unsigned char c : s.substr(0, max)) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out.append(buf);
    }
  }
  if (s.size() > max) out.append("...");
  return out;
}

// Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
inline bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      const unsigned char cc = s[i + k];
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

inline bool CheckDecodedUtf8(absl::string_view field, absl::string_view value) {
  const bool utf8 = IsValidUtf8(value);
  FUZZ_CHECK(utf8 || Ignored("escaped-surrogate"),
             absl::StrCat("decoded ", field, " is not UTF-8: \"", Printable(value), "\""));
  return utf8;
}

}  // namespace leafsvc::fuzz

// run_fuzzers.sh's deterministic mode sets FUZZ_DETERMINISTIC: a log line
// carries the wall-clock time and goes through a thread of its own, whose
// coverage would differ between two runs of the same inputs, so warnings are
// not logged there (open-ended runs still fuzz the log lines). Each fuzzer is
// one translation unit including this header once.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (std::getenv("FUZZ_DETERMINISTIC") != nullptr) leafsvc::SetLogLevel(leafsvc::LogLevel::kError);
  return 0;
}

#endif  // TESTS_FUZZ_FUZZ_UTIL_H_
