#include "server/http/request_plan.h"

#include <algorithm>
#include <climits>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace leafsvc::http {
namespace {

bool HasCrOrLf(absl::string_view s) { return s.find_first_of("\r\n") != absl::string_view::npos; }

}  // namespace

absl::StatusOr<RequestPlan> PlanRequest(const HttpRequest& request, absl::Time now) {
  RequestPlan plan;
  plan.fresh_connect = request.fresh_connection;
  if (request.deadline != absl::InfiniteFuture()) {
    // Round up so that a sub-millisecond remainder still gets 1 ms.
    const std::int64_t ms =
        absl::ToInt64Milliseconds(absl::Ceil(request.deadline - now, absl::Milliseconds(1)));
    plan.timeout_ms = static_cast<long>(std::clamp<std::int64_t>(ms, 1, LONG_MAX));
  }

  const std::string& method = request.method;
  if (method == "HEAD") {
    plan.body = RequestPlan::Body::kNone;
  } else if ((method.empty() || method == "GET" || method == "DELETE") && request.body.empty()) {
    plan.body = RequestPlan::Body::kGet;
    if (method == "DELETE") plan.custom_method = "DELETE";
  } else {
    plan.body = RequestPlan::Body::kFields;
    if (method != "POST") plan.custom_method = method.empty() ? "GET" : method;
  }

  bool has_content_type = false;
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || HasCrOrLf(name) || HasCrOrLf(value) ||
        name.find(':') != std::string::npos) {
      return absl::InternalError(absl::StrCat("invalid request header name or value (header \"",
                                              absl::CHexEscape(name), "\")"));
    }
    if (absl::EqualsIgnoreCase(name, "content-type")) has_content_type = true;
    // "Name;" is curl's syntax for a header with an empty value.
    plan.header_lines.push_back(value.empty() ? absl::StrCat(name, ";")
                                              : absl::StrCat(name, ": ", value));
  }
  // No "Expect: 100-continue" round trip for bodies; no curl default
  // form-urlencoded Content-Type on bodies the caller did not type.
  plan.header_lines.push_back("Expect:");
  if (plan.body == RequestPlan::Body::kFields && !has_content_type) {
    plan.header_lines.push_back("Content-Type:");
  }
  return plan;
}

long ConnectTimeoutMs(absl::Duration timeout) {
  return static_cast<long>(
      std::clamp<std::int64_t>(absl::ToInt64Milliseconds(timeout), 1, LONG_MAX));
}

}  // namespace leafsvc::http
