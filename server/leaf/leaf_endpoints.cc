#include "server/leaf/leaf_endpoints.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace leafsvc::leaf {
namespace {

constexpr absl::string_view kUserManagement = "/services/usermanagement/api";

}  // namespace

std::string PercentEncodePathSegment(absl::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size());
  for (unsigned char c : segment) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  // "." and ".." are dot-segments even when unencoded; encode them fully.
  if (out == "." || out == "..") out = segment.size() == 1 ? "%2E" : "%2E%2E";
  return out;
}

LeafEndpoints::LeafEndpoints(absl::string_view api_url) : api_url_(api_url) {
  while (!api_url_.empty() && api_url_.back() == '/') api_url_.pop_back();
}

LeafEndpoints::LeafEndpoints(absl::string_view api_url, const providers::ProviderSpec& provider)
    : LeafEndpoints(api_url) {
  provider_ = &provider;
}

std::string LeafEndpoints::Login() const { return absl::StrCat(api_url_, "/api/authenticate"); }

std::string LeafEndpoints::Credentials(absl::string_view leaf_user_id) const {
  return absl::StrCat(api_url_, kUserManagement, "/users/", PercentEncodePathSegment(leaf_user_id),
                      "/", provider_->path_segment);
}

std::string LeafEndpoints::CredentialEvents(absl::string_view leaf_user_id) const {
  return absl::StrCat(Credentials(leaf_user_id), "/events");
}

std::string LeafEndpoints::Users(int page, int size) const {
  return absl::StrCat(api_url_, kUserManagement, "/users?page=", page, "&size=", size);
}

}  // namespace leafsvc::leaf
