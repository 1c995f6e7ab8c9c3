// The plain values exchanged by the emulator's public API (leaf_emulator.h)
// and its parts: options, faults, recorded requests, stored credentials and
// events. No behaviour here, so every part can include it.
#ifndef EMULATOR_TYPES_H_
#define EMULATOR_TYPES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/providers/agleader/agleader_spec.h"
#include "server/providers/provider_spec.h"

namespace leafemu {

using ::leafsvc::providers::ProviderSpec;

// What a POST does when the user already has credentials.
enum class DuplicateCreateMode {
  kReplace,     // 201, the new credentials replace the old ones (default)
  kBadRequest,  // 400 problem+json with errorKey "credentialsalreadyexist"
  kConflict,    // 409 problem+json
};

// One application registered with AgFiniti (emulator/agfiniti/): its
// consumer keys and the redirect URIs it registered (matched exactly).
struct AgFinitiApp {
  std::string public_key;   // the OAuth client_id
  std::string private_key;  // the OAuth client secret
  std::string name;         // shown on the consent page; default: the public key
  std::vector<std::string> redirect_uris;
};

// The AgFiniti the emulator plays under /agfiniti (empty: no applications,
// no growers; every authorize and token request is refused).
struct AgFinitiOptions {
  std::vector<AgFinitiApp> apps;
  // Grower accounts: username -> password.
  std::map<std::string, std::string> growers;
  // RFC 6749 §4.1.2 recommends at most 10 minutes for a code; the sign-in
  // and consent pages of one authorize request live as long.
  absl::Duration code_lifetime = absl::Minutes(10);
  absl::Duration access_token_lifetime = absl::Hours(1);
};

struct EmulatorOptions {
  // The credential provider served: its path, fields, status values and
  // names (server/providers/). Must outlive the emulator.
  const ProviderSpec* provider = &::leafsvc::providers::AgLeaderSpec();
  std::string host = "127.0.0.1";
  int port = 0;  // 0: pick a free port
  // Accounts accepted by POST /api/authenticate: username -> password.
  std::map<std::string, std::string> accounts;
  // Bearer tokens accepted without login (besides tokens issued by login).
  std::vector<std::string> static_tokens;
  // When set, only these Leaf user ids exist (others get 404); otherwise any
  // well-formed id is an existing user.
  std::optional<std::vector<std::string>> known_users;
  DuplicateCreateMode duplicate_create_mode = DuplicateCreateMode::kReplace;
  // Lifetime of tokens issued by login (rememberMe true / false).
  absl::Duration remember_me_token_lifetime = absl::Hours(24 * 30);
  absl::Duration token_lifetime = absl::Hours(24);
  // When true, credentials the provider refuses (for AgLeader: a
  // refreshToken starting with "invalid"; ProviderSpec::emulator) are
  // refused at POST with 400; when false (default) they are accepted and the
  // stored credentials get status UNAUTHENTICATED plus a 401 event.
  bool reject_invalid_refresh_token = false;
  // Serve HTTPS with this PEM certificate chain and key (base_url() then
  // starts with https://); plain HTTP when empty.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Worker threads serving connections (each open connection holds one while
  // it is being served; slow faults hold theirs for their whole duration).
  int thread_pool_size = 64;
  // Idle keep-alive connections are closed after this long. Stop() closes
  // them at once regardless.
  absl::Duration keep_alive_timeout = absl::Seconds(5);
  // When true, one line per request ("METHOD path -> status", never bodies or
  // headers) goes to stderr.
  bool log_requests = false;
  // Requests() keeps at most this many (the oldest are dropped), so a
  // long-running emulator under load does not grow without bound.
  int max_recorded_requests = 100000;
  // Leaf retries a failed webhook delivery after 1, 30, 60 and 240 minutes;
  // the emulator multiplies that schedule by this (tests: e.g. 0.0001).
  double alert_retry_scale = 1.0;
  // Leaf's request limit (rate_limit.h): at most this many requests per API
  // owner in any 60 s over all of Leaf's endpoints, the rest answered 429;
  // 0: no limit. Retry-After on those 429s when set (Leaf's later draft
  // sends none).
  int rate_limit_per_minute = 0;
  std::optional<int> rate_limit_retry_after_seconds;
  // AgFiniti's OAuth server, on the same port under /agfiniti. When it has
  // growers, a refresh token posted to Leaf is checked against it (live:
  // OK; unknown or revoked: UNAUTHENTICATED) instead of by its look.
  AgFinitiOptions agfiniti;
};

// One injected misbehaviour. It applies to the next `times` requests whose
// method matches (empty: any) and whose path contains `path_contains`
// (empty: any), including /api/authenticate.
struct Fault {
  enum class Kind {
    kLatencyOnly,      // delay, then answer normally
    kStatus,           // answer `status` with `body` (default: problem+json)
    kMalformedJson,    // 200 (or `status` if set) with a truncated JSON body
    kEmptyBody,        // 200 (or `status` if set) with an empty body
    kHtml,             // `status` (default 502) with a gateway HTML page
    kCloseConnection,  // close the connection without answering
    kResetMidBody,     // send headers and part of the body, then close
    kHugeBody,         // 200 with a valid-looking JSON body of `huge_bytes`
    kSlowDrip,         // 200, body sent one byte every `drip_interval`
  };
  Kind kind = Kind::kStatus;
  std::string method;
  std::string path_contains;
  int times = 1;  // -1: until cleared
  // Chance that a matching request is hit (and `times` counted down); the
  // others are served normally. For load tests with a fault rate.
  double probability = 1.0;
  absl::Duration latency = absl::ZeroDuration();
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // e.g. {"Retry-After", "1"}
  std::int64_t huge_bytes = 16 << 20;
  absl::Duration drip_interval = absl::Milliseconds(100);
};

// A request as the emulator saw it (for tests that count upstream calls).
struct RecordedRequest {
  std::string method;
  std::string path;  // without query string
  std::string query;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  int status = 0;  // what the emulator answered (0 if the connection was cut)
};

// What the emulator holds for one user.
struct StoredCredentials {
  std::string id;
  std::string status;        // "OK", "UNAUTHENTICATED", ... (any string)
  std::string created_time;  // as served, e.g. "2023-04-21T12:16:27.997586Z"
  // The provider's fields by Leaf's JSON name, e.g. "refreshToken"; absent
  // is served as empty (or null for a field not required on create).
  std::map<std::string, std::string> fields;

  // The value of field `name`, "" when absent.
  std::string Field(const std::string& name) const {
    auto it = fields.find(name);
    return it == fields.end() ? std::string() : it->second;
  }
};

struct StoredEvent {
  std::string id;
  std::string created_date;
  int status_code = 200;
  std::string headers;
  std::string body;
};

}  // namespace leafemu

#endif  // EMULATOR_TYPES_H_
