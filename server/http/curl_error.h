// How a failed libcurl transfer becomes an absl::Status: the codes listed in
// http_client.h, and the kMaybeSentPayload rule (set whenever the request may
// have reached the server, erring towards yes).
#ifndef SERVER_HTTP_CURL_ERROR_H_
#define SERVER_HTTP_CURL_ERROR_H_

#include <curl/curl.h>

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace leafsvc::http {

// What is known about a failed transfer besides its CURLcode.
struct CurlErrorContext {
  // CURLOPT_ERRORBUFFER's text; empty when curl left none.
  absl::string_view error_buffer;
  // MayHaveBeenSent() of the transfer's handle.
  bool may_have_been_sent = false;
  // The response exceeded max_response_bytes (our write callbacks stopped it).
  bool too_large = false;
  std::size_t max_response_bytes = 0;
};

// The status for a transfer that ended with `code` (not CURLE_OK).
absl::Status MapCurlError(CURLcode code, const CurlErrorContext& context);

// Whether the request on `easy` may have left this process: the transfer got
// past connection set-up (TCP and TLS) or wrote request bytes. Errs towards
// yes.
bool MayHaveBeenSent(CURL* easy);

// `status` marked with kMaybeSentPayload.
absl::Status WithMaybeSent(absl::Status status);

// The status of a cancelled transfer; `may_have_been_sent` for one that had
// started.
absl::Status CancelledStatus(bool may_have_been_sent = false);

}  // namespace leafsvc::http

#endif  // SERVER_HTTP_CURL_ERROR_H_
