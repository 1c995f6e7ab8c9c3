#include "server/http/curl_error.h"

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "server/http/http_client.h"

namespace leafsvc::http {

absl::Status MapCurlError(CURLcode code, const CurlErrorContext& context) {
  absl::string_view detail =
      !context.error_buffer.empty() ? context.error_buffer : curl_easy_strerror(code);
  detail = absl::StripTrailingAsciiWhitespace(detail);
  switch (code) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
      return absl::UnavailableError(absl::StrCat("cannot connect to upstream: ", detail));
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return absl::UnavailableError(absl::StrCat("upstream TLS handshake failed: ", detail));
    case CURLE_OPERATION_TIMEDOUT:
      if (context.may_have_been_sent) {
        return WithMaybeSent(
            absl::DeadlineExceededError(absl::StrCat("upstream request timed out: ", detail)));
      }
      // Includes waiting for a free connection (max_connections_per_host),
      // which curl reports as a slow name resolution.
      return absl::DeadlineExceededError(
          absl::StrCat("upstream request timed out before it was sent: ", detail));
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return WithMaybeSent(
          absl::UnavailableError(absl::StrCat("upstream connection failed mid-request: ", detail)));
    case CURLE_WRITE_ERROR:
      if (context.too_large) {
        return WithMaybeSent(absl::ResourceExhaustedError(
            absl::StrCat("upstream response larger than ", context.max_response_bytes, " bytes")));
      }
      break;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      // Rejected before any connection was made.
      return absl::InternalError(absl::StrCat("bad upstream URL: ", detail));
    default:
      break;
  }
  return WithMaybeSent(absl::InternalError(
      absl::StrCat("upstream transfer failed (curl ", static_cast<int>(code), "): ", detail)));
}

bool MayHaveBeenSent(CURL* easy) {
  long request_size = 0;
  curl_off_t pretransfer_us = 0;
  curl_off_t connect_us = 0;
  curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &request_size);
  curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
  curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connect_us);
  return request_size > 0 || pretransfer_us > 0 || connect_us > 0;
}

absl::Status WithMaybeSent(absl::Status status) {
  status.SetPayload(kMaybeSentPayload, absl::Cord("true"));
  return status;
}

absl::Status CancelledStatus(bool may_have_been_sent) {
  absl::Status status = absl::CancelledError("upstream request cancelled");
  return may_have_been_sent ? WithMaybeSent(std::move(status)) : status;
}

}  // namespace leafsvc::http
