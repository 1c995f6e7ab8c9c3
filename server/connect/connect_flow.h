// What the grower's pages (connect_pages.h) ask of the connect flow: the
// contract between the HTTP side and the flow (connect_service.h implements
// it; tests fake it). Every call is asynchronous, since in fleet mode links
// live in Redis and completing a link talks to AgFiniti and Leaf; `done` runs
// exactly once, on any thread (possibly before the call returns).
#ifndef SERVER_CONNECT_CONNECT_FLOW_H_
#define SERVER_CONNECT_CONNECT_FLOW_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/connect/connect_link.h"

namespace leafsvc::connect {

// One attempt to consent: where to send the browser, and the browser
// binding the callback must present again (set by the pages as a cookie).
struct AttemptStart {
  std::string authorize_url;    // AgFiniti's consent page, with state (and PKCE)
  std::string browser_binding;  // random; only its hash is stored
  absl::Time expire_time;       // the attempt's (15 minutes by default)
};

// What AgFiniti's redirect to the callback carried.
struct CallbackParams {
  std::string state;
  std::string code;             // empty when AgFiniti sent an error
  std::string error;            // RFC 6749 §4.1.2.1 error code, e.g. access_denied
  std::string browser_binding;  // from the cookie; empty when absent
};

class ConnectFlow {
 public:
  virtual ~ConnectFlow() = default;

  // The link for its landing page. NOT_FOUND (reason CONNECT_LINK_NOT_FOUND)
  // when unknown.
  virtual void GetLink(const std::string& id,
                       std::function<void(absl::StatusOr<ConnectLink>)> done) = 0;

  // Starts an attempt on a PENDING, DENIED or FAILED link that has not
  // expired: a fresh single-use state bound to the link. FAILED_PRECONDITION
  // (CONNECT_LINK_EXPIRED, CONNECT_LINK_ALREADY_USED) otherwise; NOT_FOUND
  // for an unknown link.
  virtual void StartAttempt(const std::string& id,
                            std::function<void(absl::StatusOr<AttemptStart>)> done) = 0;

  // Completes the attempt AgFiniti redirected back with: consumes its state
  // (single use), then on a code exchanges it and attaches the credentials
  // to the Leaf user. Answers the link as it now is (CONNECTED, DENIED or
  // FAILED, with its error), or an error when the callback itself is not
  // acceptable: INVALID_ARGUMENT (CONNECT_STATE_INVALID: unknown, used,
  // tampered, expired, or from another browser). Never echoes the code.
  virtual void Complete(CallbackParams params,
                        std::function<void(absl::StatusOr<ConnectLink>)> done) = 0;
};

}  // namespace leafsvc::connect

#endif  // SERVER_CONNECT_CONNECT_FLOW_H_
