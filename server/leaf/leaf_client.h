// Typed, asynchronous client for Leaf's AgLeader credential endpoints. Each
// method starts the exchange and returns at once; `done` runs exactly once,
// on a transport thread (or inline for an immediate failure). No gRPC types.
#ifndef SERVER_LEAF_LEAF_CLIENT_H_
#define SERVER_LEAF_LEAF_CLIENT_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/http/http_client.h"
#include "server/leaf/leaf_endpoints.h"
#include "server/leaf/leaf_types.h"
#include "server/leaf/token_source.h"

namespace leafsvc::leaf {

// A started exchange. Cancel() makes its callback run promptly with
// CANCELLED (unless it already ran) and aborts the HTTP transfer.
class LeafCall {
 public:
  virtual ~LeafCall() = default;
  virtual void Cancel() = 0;
};

class LeafClient {
 public:
  template <typename T>
  using Callback = std::function<void(absl::StatusOr<T>)>;
  using DoneCallback = std::function<void(absl::Status)>;

  // `http` and `tokens` must outlive the client and every call it started.
  LeafClient(http::HttpClient* http, TokenSource* tokens, LeafEndpoints endpoints);

  // `deadline` bounds the whole exchange, including a login and one retry
  // after a 401. `leaf_user_id` must satisfy IsLeafUserId.
  std::shared_ptr<LeafCall> GetCredentials(absl::string_view leaf_user_id,
                                           absl::Time deadline,
                                           Callback<AgLeaderCredentials> done);
  std::shared_ptr<LeafCall> CreateCredentials(absl::string_view leaf_user_id,
                                              const NewAgLeaderCredentials& credentials,
                                              absl::Time deadline,
                                              Callback<AgLeaderCredentials> done);
  std::shared_ptr<LeafCall> DeleteCredentials(absl::string_view leaf_user_id,
                                              absl::Time deadline, DoneCallback done);
  std::shared_ptr<LeafCall> ListEvents(absl::string_view leaf_user_id,
                                       absl::Time deadline,
                                       Callback<std::vector<CredentialEvent>> done);

  const LeafEndpoints& endpoints() const { return endpoints_; }

 private:
  class Exchange;
  http::HttpClient* const http_;
  TokenSource* const tokens_;
  const LeafEndpoints endpoints_;
};

}  // namespace leafsvc::leaf

#endif  // SERVER_LEAF_LEAF_CLIENT_H_
