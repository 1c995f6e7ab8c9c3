// The connect flow (issue 22): creates links, starts consent attempts at
// AgFiniti, and completes them: takes the attempt (single use), exchanges
// the code at AgFiniti's token endpoint and attaches the grower's refresh
// token with the application's keys to the Leaf user, replacing credentials
// Leaf refuses to overwrite (DELETE, then POST again). Each step's failure
// leaves the link FAILED with that step's reason; a CONNECTED link never
// changes again.
//
// Thread-safe. Every `done` runs exactly once, on any thread (a transport or
// Redis thread, or inline). The store, the HTTP client, the Leaf client and
// the service itself must outlive every call in flight.
#ifndef SERVER_CONNECT_CONNECT_SERVICE_H_
#define SERVER_CONNECT_CONNECT_SERVICE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/connect/agfiniti_token_client.h"
#include "server/connect/connect_flow.h"
#include "server/connect/connect_link.h"
#include "server/connect/connect_links.h"
#include "server/connect/connect_options.h"
#include "server/connect/link_store.h"
#include "server/connect/return_url_policy.h"
#include "server/http/http_client.h"
#include "server/leaf/leaf_client.h"

namespace leafsvc::connect {

class ConnectService final : public ConnectFlow, public ConnectLinks {
 public:
  // `agfiniti_http`: the process's plain HTTP client (not Leaf's budgeted
  // one); `clock` gives link times (absl::Now when empty); `on_connected`
  // (may be empty) is told of every link this service connected, after the
  // store has it.
  ConnectService(ConnectOptions options, LinkStore* store, http::HttpClient* agfiniti_http,
                 leaf::LeafClient* leaf, std::function<absl::Time()> clock,
                 std::function<void(const ConnectLink&)> on_connected);

  // ConnectLinks.
  void CreateLink(std::string leaf_user_id, std::string return_url,
                  std::optional<absl::Duration> ttl,
                  std::function<void(absl::StatusOr<ConnectLink>)> done) override;
  std::string UrlOf(const ConnectLink& link) const override;

  // ConnectLinks and ConnectFlow.
  void GetLink(const std::string& id,
               std::function<void(absl::StatusOr<ConnectLink>)> done) override;

  // ConnectFlow.
  void StartAttempt(const std::string& id,
                    std::function<void(absl::StatusOr<AttemptStart>)> done) override;
  void Complete(CallbackParams params,
                std::function<void(absl::StatusOr<ConnectLink>)> done) override;

  const ConnectOptions& options() const { return options_; }

  struct Completion;  // one Complete in progress (connect_service.cc)

 private:
  absl::Time Now() const;
  std::string AuthorizeUrl(const std::string& state, const std::string& challenge) const;

  void CompleteWithAttempt(std::shared_ptr<Completion> c);
  void CompleteWithLink(std::shared_ptr<Completion> c, ConnectLink link);
  void Attach(std::shared_ptr<Completion> c, bool replacing);
  void Finish(std::shared_ptr<Completion> c, const absl::Status& failure,
              std::string credentials_id = {});
  void Store(std::shared_ptr<Completion> c, LinkUpdate update);

  const ConnectOptions options_;
  LinkStore* const store_;
  leaf::LeafClient* const leaf_;
  const std::function<absl::Time()> clock_;
  const std::function<void(const ConnectLink&)> on_connected_;
  const ReturnUrlPolicy return_urls_;
  AgfinitiTokenClient tokens_;
};

}  // namespace leafsvc::connect

#endif  // SERVER_CONNECT_CONNECT_SERVICE_H_
