#include "emulator/agfiniti/form.h"

#include <openssl/evp.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace leafemu {
namespace agfiniti {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool Unreserved(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

// Standard base64 with padding; nullopt on anything else.
std::optional<std::string> Base64Decode(absl::string_view in) {
  if (in.empty() || in.size() % 4 != 0 || in.size() > 8192) return std::nullopt;
  for (char c : in) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/' && c != '=') {
      return std::nullopt;
    }
  }
  std::string out(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding's bytes as decoded zeros.
  size_t pad = 0;
  if (absl::EndsWith(in, "==")) {
    pad = 2;
  } else if (absl::EndsWith(in, "=")) {
    pad = 1;
  }
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

}  // namespace

std::optional<std::string> FormDecode(absl::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      const char b = static_cast<char>(hi * 16 + lo);
      if (b == '\0') return std::nullopt;
      out.push_back(b);
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string FormEncode(absl::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : in) {
    if (Unreserved(c)) {
      out.push_back(c);
    } else {
      const auto b = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 15]);
    }
  }
  return out;
}

std::optional<std::map<std::string, std::string>> ParseForm(absl::string_view body,
                                                            size_t max_fields) {
  std::map<std::string, std::string> out;
  for (absl::string_view piece : absl::StrSplit(body, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(piece, absl::MaxSplits('=', 1));
    std::optional<std::string> name = FormDecode(kv.first);
    std::optional<std::string> value = FormDecode(kv.second);
    if (!name || !value || name->empty()) return std::nullopt;
    if (!out.emplace(*std::move(name), *std::move(value)).second) return std::nullopt;
    if (out.size() > max_fields) return std::nullopt;
  }
  return out;
}

std::optional<std::pair<std::string, std::string>> ParseBasicAuth(absl::string_view header) {
  header = absl::StripAsciiWhitespace(header);
  if (header.size() < 6 || !absl::EqualsIgnoreCase(header.substr(0, 6), "basic ")) {
    return std::nullopt;
  }
  std::optional<std::string> decoded =
      Base64Decode(absl::StripLeadingAsciiWhitespace(header.substr(6)));
  if (!decoded) return std::nullopt;
  const size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  std::optional<std::string> id = FormDecode(absl::string_view(*decoded).substr(0, colon));
  std::optional<std::string> secret = FormDecode(absl::string_view(*decoded).substr(colon + 1));
  if (!id || !secret) return std::nullopt;
  return std::make_pair(*std::move(id), *std::move(secret));
}

std::string AppendQuery(const std::string& uri,
                        const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out = uri;
  char sep = uri.find('?') == std::string::npos ? '?' : '&';
  if (!out.empty() && (out.back() == '?' || out.back() == '&')) sep = '\0';
  for (const auto& [name, value] : params) {
    if (sep != '\0') out.push_back(sep);
    absl::StrAppend(&out, FormEncode(name), "=", FormEncode(value));
    sep = '&';
  }
  return out;
}

}  // namespace agfiniti
}  // namespace leafemu
