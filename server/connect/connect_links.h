// What the gRPC edge asks of connect links (CreateConnectLink,
// GetConnectLink): the contract between server/edge and the connect flow
// (connect_service.h implements it; edge tests fake it). Asynchronous, as in
// fleet mode links live in Redis: `done` runs exactly once, on any thread,
// possibly before the call returns.
#ifndef SERVER_CONNECT_CONNECT_LINKS_H_
#define SERVER_CONNECT_CONNECT_LINKS_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/connect/connect_link.h"

namespace leafsvc::connect {

// How long a link may be used: a `ttl` of CreateConnectLink and
// --connect_link_ttl must lie within these (both ends included).
inline constexpr absl::Duration kMinLinkTtl = absl::Minutes(1);
inline constexpr absl::Duration kMaxLinkTtl = absl::Hours(24 * 30);

class ConnectLinks {
 public:
  virtual ~ConnectLinks() = default;

  // A new PENDING link for `leaf_user_id` (canonical). INVALID_ARGUMENT
  // (INVALID_REQUEST on `ttl`, CONNECT_RETURN_URL_NOT_ALLOWED on
  // `return_url`) with a BadRequest; UNAVAILABLE when the store is.
  virtual void CreateLink(std::string leaf_user_id, std::string return_url,
                          std::optional<absl::Duration> ttl,
                          std::function<void(absl::StatusOr<ConnectLink>)> done) = 0;
  // NOT_FOUND (CONNECT_LINK_NOT_FOUND) when unknown.
  virtual void GetLink(const std::string& id,
                       std::function<void(absl::StatusOr<ConnectLink>)> done) = 0;
  // The URL the grower opens.
  virtual std::string UrlOf(const ConnectLink& link) const = 0;
};

}  // namespace leafsvc::connect

#endif  // SERVER_CONNECT_CONNECT_LINKS_H_
