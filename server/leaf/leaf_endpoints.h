// Leaf's URLs. The only caller-controlled part of any URL is the Leaf user id,
// which is validated before a request is built and percent-encoded here as
// well, so no input can change the path.
#ifndef SERVER_LEAF_LEAF_ENDPOINTS_H_
#define SERVER_LEAF_LEAF_ENDPOINTS_H_

#include <string>

#include "absl/strings/string_view.h"
#include "server/ids/leaf_user_id.h"
#include "server/providers/provider_spec.h"

namespace leafsvc::leaf {

class LeafEndpoints {
 public:
  // `api_url`: scheme and host of Leaf's gateway, e.g. "https://api.withleaf.io"
  // (a trailing slash is ignored; a path prefix is kept).
  // `provider` (which must outlive this) names the credentials' path
  // segment.
  LeafEndpoints(absl::string_view api_url, const providers::ProviderSpec& provider);
  // Login and users only: for code that names no provider (the token
  // source). Credentials() and CredentialEvents() must not be called.
  explicit LeafEndpoints(absl::string_view api_url);

  const std::string& api_url() const { return api_url_; }
  // Null for endpoints built without one.
  const providers::ProviderSpec* provider() const { return provider_; }
  // POST /api/authenticate (on the gateway, not under /services/...).
  std::string Login() const;
  // {usermanagement}/users/{id}/{provider path segment}
  std::string Credentials(absl::string_view leaf_user_id) const;
  // {usermanagement}/users/{id}/{provider path segment}/events
  std::string CredentialEvents(absl::string_view leaf_user_id) const;
  // {usermanagement}/users?page={page}&size={size} (Leaf pages from 0).
  std::string Users(int page, int size) const;

 private:
  std::string api_url_;
  const providers::ProviderSpec* provider_ = nullptr;
};

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string PercentEncodePathSegment(absl::string_view segment);

}  // namespace leafsvc::leaf

#endif  // SERVER_LEAF_LEAF_ENDPOINTS_H_
