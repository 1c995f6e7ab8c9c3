// Typed, asynchronous client for Leaf's credential endpoints of one provider
// (the spec its endpoints name). Each
// method starts the exchange and returns at once; `done` runs exactly once,
// on a transport thread (or inline for an immediate failure), or, when the
// response body is at least kOffloadBodyBytes, on one of the client's
// completion threads, so that decoding it does not hold up the transport's
// other calls. No gRPC types.
#ifndef SERVER_LEAF_LEAF_CLIENT_H_
#define SERVER_LEAF_LEAF_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/http/http_client.h"
#include "server/leaf/completion_pool.h"
#include "server/leaf/leaf_call.h"
#include "server/leaf/leaf_endpoints.h"
#include "server/leaf/leaf_errors.h"
#include "server/leaf/leaf_exchange.h"
#include "server/leaf/leaf_types.h"
#include "server/leaf/leaf_users_json.h"
#include "server/leaf/read_coalescer.h"
#include "server/leaf/token_source.h"
#include "server/platform/scheduler.h"

namespace leafsvc::leaf {

// Response bodies from this size on are decoded off the transport thread.
inline constexpr std::size_t kOffloadBodyBytes = 64 * 1024;

class LeafClient {
 public:
  template <typename T>
  using Callback = std::function<void(absl::StatusOr<T>)>;
  using DoneCallback = std::function<void(absl::Status)>;

  // `http`, `tokens` and the scheduler must outlive the client and every
  // call it started. `endpoints` must name a provider (whose spec decides
  // the path, the JSON fields and the words of error messages).
  LeafClient(http::HttpClient* http, TokenSource* tokens, LeafEndpoints endpoints,
             LeafClientOptions options = {});

  // `leaf_user_id` must satisfy IsLeafUserId. Error messages and metadata
  // never contain the secrets the call sent (they are redacted even when
  // Leaf quotes them back).
  //
  // Identical reads in flight together (GetCredentials of one user, its
  // events) share one request to Leaf (read_coalescer.h), unless the call
  // brings its own Leaf token; Create and Delete start a new generation of
  // the user's reads, so a read asked after a write never shares one asked
  // before it. Nothing is cached.
  std::shared_ptr<Cancellable> GetCredentials(absl::string_view leaf_user_id,
                                              const CallOptions& options,
                                              Callback<ProviderCredentials> done);
  std::shared_ptr<Cancellable> CreateCredentials(absl::string_view leaf_user_id,
                                                 const NewProviderCredentials& credentials,
                                                 const CallOptions& options,
                                                 Callback<ProviderCredentials> done);
  std::shared_ptr<Cancellable> DeleteCredentials(absl::string_view leaf_user_id,
                                                 const CallOptions& options, DoneCallback done);
  std::shared_ptr<Cancellable> ListEvents(absl::string_view leaf_user_id,
                                          const CallOptions& options,
                                          Callback<std::vector<CredentialEvent>> done);
  // One page of the API owner's Leaf users (GET /users?page=&size=, pages
  // from 0), with X-Total-Count when Leaf sent it (leaf_users.cc).
  std::shared_ptr<Cancellable> ListUsers(int page, int size, const CallOptions& options,
                                         Callback<LeafUsersPage> done);

  const LeafEndpoints& endpoints() const { return endpoints_; }
  const providers::ProviderSpec& provider() const { return provider_; }
  // Exchanges started and not finished.
  int in_flight() const { return in_flight_.load(); }

  // Ends every exchange still in flight with `status` (their callbacks run
  // before this returns, on this thread, unless already running elsewhere).
  // For shutdown: calls cut short get a status that says why.
  void AbortAll(const absl::Status& status);

 private:
  std::shared_ptr<Cancellable> SendGetCredentials(const std::string& leaf_user_id,
                                                  const CallOptions& options,
                                                  Callback<ProviderCredentials> done);
  std::shared_ptr<Cancellable> SendListEvents(const std::string& leaf_user_id,
                                              const CallOptions& options,
                                              Callback<std::vector<CredentialEvent>> done);
  // What a call cancelled by its owner hears.
  absl::Status CancelledStatus(LeafOperation op) const;
  // A write to the user starts: its reads from now on share nothing older.
  void WriteStarted(absl::string_view leaf_user_id);

  // Starts `request`, or fails it at once when too many are in flight.
  std::shared_ptr<Cancellable> Start(LeafOperation op, http::HttpRequest request,
                                     const CallOptions& options, std::vector<std::string> secrets,
                                     std::function<void(absl::StatusOr<http::HttpResponse>)> done);

  http::HttpClient* const http_;
  TokenSource* const tokens_;
  const LeafEndpoints endpoints_;
  const providers::ProviderSpec& provider_;
  const LeafClientOptions options_;
  const std::function<double()> random_;
  std::atomic<int> in_flight_{0};
  std::atomic<int> background_in_flight_{0};  // of in_flight_, priority > 0

  // Exchanges in flight, for AbortAll. Weak: an exchange lives as long as
  // something (transport, timer, token source, caller) still refers to it.
  absl::Mutex live_mu_;
  std::uint64_t next_live_id_ ABSL_GUARDED_BY(live_mu_) = 0;
  absl::flat_hash_map<std::uint64_t, std::weak_ptr<Exchange>> live_ ABSL_GUARDED_BY(live_mu_);

  ReadCoalescer<ProviderCredentials> credential_reads_;
  ReadCoalescer<std::vector<CredentialEvent>> event_reads_;

  // Last: destroyed first, running what is still queued while the rest of
  // the client exists.
  CompletionPool completions_{2};
};

}  // namespace leafsvc::leaf

#endif  // SERVER_LEAF_LEAF_CLIENT_H_
