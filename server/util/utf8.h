// UTF-8 helpers for text that ends up in protobuf string fields (which must
// be valid UTF-8, or other languages' parsers refuse the message).
#ifndef SERVER_UTIL_UTF8_H_
#define SERVER_UTIL_UTF8_H_

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

}  // namespace leafsvc

#endif  // SERVER_UTIL_UTF8_H_
