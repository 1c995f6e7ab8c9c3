// AgFiniti's token endpoint: exchanges an authorization code for the
// grower's tokens (RFC 6749 §4.1.3), authenticating the application with
// HTTP Basic public_key:private_key, and maps every answer (§5.1 success,
// §5.2 errors, transport failures) to one reason of server/errors/reasons.h:
//   invalid_grant                            AGFINITI_CODE_REJECTED
//   invalid_client, unauthorized_client      AGFINITI_CLIENT_REJECTED
//   any other error code                     AGFINITI_REQUEST_REJECTED
//   5xx, transport error, timeout, an answer
//   that is not JSON or has no refresh_token AGFINITI_UNAVAILABLE
// The code, the verifier, the tokens, the private key and the Basic header
// never appear in an error; AgFiniti's error_description is quoted only when
// it contains none of them. The request's copies of secrets are wiped once
// the transport is done with them (it wipes its own; this client wipes what
// it built), the answer's body once it has been read.
#ifndef SERVER_CONNECT_AGFINITI_TOKEN_CLIENT_H_
#define SERVER_CONNECT_AGFINITI_TOKEN_CLIENT_H_

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/connect/connect_options.h"
#include "server/http/http_client.h"
#include "server/secrets/secret.h"

namespace leafsvc::connect {

// Largest token answer read (a real one is a few hundred bytes).
inline constexpr size_t kMaxTokenAnswerBytes = 64 * 1024;
// Longest error_description quoted in an error message.
inline constexpr size_t kMaxErrorDescriptionBytes = 200;

struct AgfinitiTokens {
  Secret refresh_token;
  Secret access_token;  // empty when absent
  std::optional<absl::Duration> expires_in;
};

class AgfinitiTokenClient {
 public:
  using Done = std::function<void(absl::StatusOr<AgfinitiTokens>)>;

  // `http` must outlive the client and every exchange in flight. Reads
  // token_url, public_key, private_key, RedirectUri() and agfiniti_timeout.
  AgfinitiTokenClient(http::HttpClient* http, const ConnectOptions& options);

  // POSTs grant_type=authorization_code&code=...&redirect_uri=...
  // [&code_verifier=...]. `done` runs once, on a transport thread.
  void Exchange(Secret code, Secret pkce_verifier, Done done);

 private:
  http::HttpClient* const http_;
  const std::string token_url_;
  const std::string public_key_;
  const Secret private_key_;
  const std::string redirect_uri_;
  const absl::Duration timeout_;
};

// Maps one answer of the token endpoint (exposed for tests). `secrets` are
// the values no message may contain.
absl::StatusOr<AgfinitiTokens> ParseTokenAnswer(const http::HttpResponse& response,
                                                const std::vector<absl::string_view>& secrets);

}  // namespace leafsvc::connect

#endif  // SERVER_CONNECT_AGFINITI_TOKEN_CLIENT_H_
