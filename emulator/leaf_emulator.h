// An in-memory emulator of the parts of Leaf's REST API this project uses
// (see ../shared/leaf-api.md): login, Bearer checks, the four credential
// endpoints of one provider (EmulatorOptions::provider, AgLeader by
// default), problem+json errors, and test controls for behaviour
// Leaf leaves undocumented and for faults. A real HTTP server (cpp-httplib)
// on loopback; usable in-process from tests and as the `leaf_emulator` binary.
//
// This is the public facade: the parts it wires together live beside it, one
// concept per file (leaf_emulator.cc maps them). The value types are in types.h.
#ifndef EMULATOR_LEAF_EMULATOR_H_
#define EMULATOR_LEAF_EMULATOR_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "emulator/agfiniti/oauth_store.h"
#include "emulator/alert_sender.h"
#include "emulator/rate_limit.h"
#include "emulator/seed.h"
#include "emulator/types.h"

namespace leafemu {

// What revoking an AgFiniti grower did.
struct AgFinitiRevocation {
  int revoked_refresh_tokens = 0;
  int flipped_credentials = 0;  // Leaf credentials now UNAUTHENTICATED
};

class LeafEmulator {
 public:
  // Binds, starts serving on a background thread and returns once the port
  // accepts connections.
  static absl::StatusOr<std::unique_ptr<LeafEmulator>> Start(EmulatorOptions options);
  ~LeafEmulator();  // stops the server

  int port() const;
  std::string base_url() const;  // "http://127.0.0.1:<port>"
  void Stop();

  // Test controls (also reachable over HTTP under /_emulator/, see
  // docs/emulator.md).
  void SetDuplicateCreateMode(DuplicateCreateMode mode);
  // Returns false if the user has no credentials. Records an event.
  bool SetCredentialStatus(const std::string& leaf_user_id, const std::string& status);
  bool AddEvent(const std::string& leaf_user_id, StoredEvent event);
  void PutCredentials(const std::string& leaf_user_id, StoredCredentials c);
  std::optional<StoredCredentials> GetStored(const std::string& leaf_user_id) const;
  std::vector<StoredEvent> GetEvents(const std::string& leaf_user_id) const;
  void InjectFault(Fault fault);
  void ClearFaults();
  std::vector<RecordedRequest> Requests() const;
  // Requests whose method matches (empty: any) and path contains `path_contains`.
  int CountRequests(const std::string& method, const std::string& path_contains) const;
  void ClearRequests();
  // Number of successful logins so far.
  int LoginCount() const;
  // Issues a valid token directly, e.g. with a short lifetime for expiry tests.
  std::string IssueToken(const std::string& username, absl::Duration lifetime);
  // Makes every token issued so far invalid (as if Leaf rotated its key).
  void RevokeAllTokens();
  // Adds spec.users Leaf users in the spec's mix of credential states
  // (POST /_emulator/seed).
  SeedResult Seed(const SeedSpec& spec);
  // Webhook deliveries attempted so far (alerts and confirmations).
  std::vector<AlertDelivery> AlertDeliveries() const;
  // Changes Leaf's request limit (EmulatorOptions::rate_limit_per_minute;
  // POST /_emulator/rate_limit) from the next request on.
  void SetRateLimit(RateLimitConfig config);
  // The request limit's counters (also in GET /_emulator/stats).
  RateLimitStats RateLimitCounters() const;
  // AgFiniti (EmulatorOptions::agfiniti; /agfiniti/ on this server;
  // POST /_emulator/agfiniti/...). The URLs to configure the service with:
  std::string agfiniti_authorize_url() const;  // <base>/agfiniti/Account/Authorize
  std::string agfiniti_token_url() const;      // <base>/agfiniti/api/token
  // Adds or replaces an application (by public key) / a grower account.
  absl::Status AddAgFinitiApp(AgFinitiApp app);
  absl::Status AddAgFinitiGrower(const std::string& username, const std::string& password);
  // Revokes every token AgFiniti issued to `username`; the Leaf credentials
  // holding one become UNAUTHENTICATED and Leaf's alert is sent.
  AgFinitiRevocation RevokeAgFinitiGrower(const std::string& username);
  // A refresh token as if `username` had consented to `client_id` (scope
  // default "read readwrite"), for tests that start from credentials OK.
  absl::StatusOr<std::string> IssueAgFinitiRefreshToken(const std::string& username,
                                                        const std::string& client_id,
                                                        const std::string& scope = "");
  bool IsLiveAgFinitiRefreshToken(const std::string& refresh_token) const;
  agfiniti::AgFinitiStats AgFinitiCounters() const;
  // The last GET /agfiniti/Account/Authorize's parameters, as received.
  std::optional<agfiniti::AuthorizeParams> LastAgFinitiAuthorize() const;
  // Makes the token endpoint fail or stall (TokenFault), until cleared.
  void SetAgFinitiTokenFault(agfiniti::TokenFault fault);
  void ClearAgFinitiTokenFault();
  // Forgets all credentials, events, faults, requests, webhooks and the
  // request limit's counters; restores the configured modes and limit.
  void Reset();

 private:
  class Impl;
  explicit LeafEmulator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace leafemu

#endif  // EMULATOR_LEAF_EMULATOR_H_
