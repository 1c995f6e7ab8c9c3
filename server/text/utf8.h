// UTF-8 helpers for text that ends up in protobuf string fields (which must
// be valid UTF-8, or other languages' parsers refuse the message).
#ifndef SERVER_TEXT_UTF8_H_
#define SERVER_TEXT_UTF8_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace leafsvc {

// The longest prefix of `text` of at most `max_bytes` that does not end in
// the middle of a multi-byte character.
absl::string_view Utf8Prefix(absl::string_view text, size_t max_bytes);

bool IsValidUtf8(absl::string_view text);

// `text` with every byte that is not part of a valid UTF-8 sequence replaced
// by U+FFFD.
std::string ValidUtf8(absl::string_view text);

// The last `count` characters (code points) of valid UTF-8 `text` (all of it
// when shorter), and the number of characters in it.
absl::string_view Utf8LastChars(absl::string_view text, size_t count);
size_t Utf8CharCount(absl::string_view text);

// The first character of valid UTF-8 `text` that has no place in a request
// field: C0 and C1 controls (U+0000-001F, U+007F-009F) and invisible format
// characters (Unicode category Cf: bidi embeddings, overrides and isolates
// U+202A-202E, U+2066-2069, marks U+200E/F, U+061C, zero-width U+200B-200D,
// U+2060-2064, U+FEFF, soft hyphen U+00AD, ...). -1 if there is none.
int32_t FirstForbiddenChar(absl::string_view text);

}  // namespace leafsvc

#endif  // SERVER_TEXT_UTF8_H_
