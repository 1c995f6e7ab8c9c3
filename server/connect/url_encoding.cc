#include "server/connect/url_encoding.h"

#include "absl/strings/ascii.h"

namespace leafsvc::connect {
namespace {

bool Unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

void AppendPercentEncoded(absl::string_view value, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : value) {
    if (Unreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
}

std::string PercentEncode(absl::string_view value) {
  std::string out;
  out.reserve(value.size() * 3);
  AppendPercentEncoded(value, out);
  return out;
}

std::string UrlOrigin(absl::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == absl::string_view::npos) return "";
  return absl::AsciiStrToLower(url.substr(0, url.find('/', scheme + 3)));
}

}  // namespace leafsvc::connect
