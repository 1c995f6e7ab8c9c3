#include "server/http/easy_setup.h"

#include "absl/strings/str_cat.h"
#include "server/http/request_plan.h"

namespace leafsvc::http {

namespace {

// The request's header lines as the handle's header list.
absl::Status SetHeaders(CURL* e, const RequestPlan& plan, const EasyTarget& target) {
  for (const std::string& line : plan.header_lines) {
    curl_slist* next = curl_slist_append(*target.headers, line.c_str());
    if (next == nullptr) return absl::ResourceExhaustedError("out of memory building request");
    *target.headers = next;
  }
  if (curl_easy_setopt(e, CURLOPT_HTTPHEADER, *target.headers) != CURLE_OK) {
    return absl::InternalError("curl_easy_setopt(CURLOPT_HTTPHEADER) failed");
  }
  return absl::OkStatus();
}

bool PlainGet(const absl::StatusOr<RequestPlan>& plan) {
  return plan.ok() && plan->body == RequestPlan::Body::kGet && !plan->custom_method.has_value();
}

}  // namespace

absl::Status ConfigureEasy(CURL* e, const HttpRequest& req, absl::Time now,
                           const EasyOptions& options, const EasyTarget& target) {
  // Checked after the options below, so that a failing curl_easy_setopt
  // keeps precedence over a bad header, as it always had.
  absl::StatusOr<RequestPlan> plan = PlanRequest(req, now);
  const bool plain_get = PlainGet(plan);
  if (plain_get && *target.configured_for_get) {
    // Everything else is as the previous GET left it (the pointers in
    // `target` belong to the handle's pooled transfer).
    *target.configured_for_get = false;
    if (curl_easy_setopt(e, CURLOPT_URL, req.url.c_str()) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, plan->fresh_connect ? 1L : 0L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, plan->timeout_ms.value_or(0L)) != CURLE_OK) {
      return absl::InternalError("curl_easy_setopt failed");
    }
    absl::Status headers = SetHeaders(e, *plan, target);
    *target.configured_for_get = headers.ok();
    return headers;
  }
  *target.configured_for_get = false;
  curl_easy_reset(e);
  CURLcode rc = CURLE_OK;
  auto set = [&](CURLoption option, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, option, value);
  };
  set(CURLOPT_PRIVATE, target.private_data);
  set(CURLOPT_ERRORBUFFER, target.error_buffer);
  set(CURLOPT_URL, req.url.c_str());
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_TCP_NODELAY, 1L);
  set(CURLOPT_TCP_KEEPALIVE, 1L);
  set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  set(CURLOPT_FOLLOWLOCATION, 0L);
  if (rc == CURLE_OK) rc = options.tls->ApplyTo(e);
  if (rc == CURLE_OK && options.sockets != nullptr) rc = options.sockets->ApplyTo(e);
  set(CURLOPT_CONNECTTIMEOUT_MS, options.connect_timeout_ms);
  if (!options.user_agent->empty()) set(CURLOPT_USERAGENT, options.user_agent->c_str());
  set(CURLOPT_HEADERFUNCTION, &ResponseReader::OnHeader);
  set(CURLOPT_HEADERDATA, static_cast<void*>(target.reader));
  set(CURLOPT_WRITEFUNCTION, &ResponseReader::OnBody);
  set(CURLOPT_WRITEDATA, static_cast<void*>(target.reader));
  if (plan.ok()) {
    if (plan->fresh_connect) set(CURLOPT_FRESH_CONNECT, 1L);
    if (plan->timeout_ms.has_value()) set(CURLOPT_TIMEOUT_MS, *plan->timeout_ms);
    switch (plan->body) {
      case RequestPlan::Body::kNone:
        set(CURLOPT_NOBODY, 1L);
        break;
      case RequestPlan::Body::kGet:
        set(CURLOPT_HTTPGET, 1L);
        break;
      case RequestPlan::Body::kFields:
        // POSTFIELDS does not copy: the body lives in the request.
        set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
        set(CURLOPT_POSTFIELDS, req.body.data());
        break;
    }
    // CUSTOMREQUEST is copied by curl.
    if (plan->custom_method.has_value()) set(CURLOPT_CUSTOMREQUEST, plan->custom_method->c_str());
  }
  if (rc != CURLE_OK) {
    return absl::InternalError(absl::StrCat("curl_easy_setopt failed: ", curl_easy_strerror(rc)));
  }
  if (!plan.ok()) return plan.status();
  absl::Status headers = SetHeaders(e, *plan, target);
  *target.configured_for_get = plain_get && headers.ok();
  return headers;
}

}  // namespace leafsvc::http
