// Fuzzes StatusFromLeafResponse: the error table applied to an arbitrary HTTP
// status, Retry-After header and body (problem+json, HTML, empty, garbage).
// Invariants: never OK; code and reason as README "Errors" says for the
// status; leaf_http_status metadata is the status; Leaf's message is capped
// and free of control characters (no forged log lines) and stays valid UTF-8;
// a delta-seconds Retry-After becomes exactly that retry delay, and only 429
// and 5xx carry one; the body's bytes reach the error only through Leaf's
// problem text (a marker secret anywhere else in the body never appears).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "server/errors/status_details.h"
#include "server/leaf/leaf_errors.h"
#include "server/leaf/leaf_json.h"
#include "tests/fuzz/fuzz_util.h"

namespace leafsvc::fuzz {
namespace {

using leaf::LeafOperation;
using Code = absl::StatusCode;

struct Expected {
  Code code;
  std::set<std::string> reasons;
};

Expected Table(LeafOperation op, int http) {
  if (op == LeafOperation::kLogin && http >= 400 && http < 500 && http != 429) {
    return {Code::kUnauthenticated, {"LEAF_LOGIN_FAILED"}};
  }
  if (http == 400 && op == LeafOperation::kCreateCredentials) {
    // Decided by the problem's text; the code follows the reason (checked below).
    return {Code::kInvalidArgument, {"LEAF_REJECTED_REQUEST", "CREDENTIALS_ALREADY_EXIST"}};
  }
  switch (http) {
    case 400:
      return {Code::kInvalidArgument, {"LEAF_REJECTED_REQUEST"}};
    case 401:
      return {Code::kUnauthenticated, {"LEAF_TOKEN_REJECTED"}};
    case 403:
      return {Code::kPermissionDenied, {"LEAF_PERMISSION_DENIED"}};
    case 404:
      return {Code::kNotFound, {"CREDENTIALS_NOT_FOUND", "LEAF_USER_NOT_FOUND"}};
    case 409:
      return {Code::kAlreadyExists, {"CREDENTIALS_ALREADY_EXIST"}};
    case 429:
      return {Code::kResourceExhausted, {"LEAF_RATE_LIMITED"}};
  }
  if (http >= 500 && http < 600) return {Code::kUnavailable, {"LEAF_UNAVAILABLE"}};
  if (http >= 400 && http < 500) return {Code::kFailedPrecondition, {"LEAF_REJECTED_REQUEST"}};
  return {Code::kUnknown, {"LEAF_UNEXPECTED_RESPONSE"}};
}

bool HasControl(absl::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20) return true;
  }
  return false;
}

int PickStatus(FuzzedDataProvider& in) {
  static constexpr int kStatuses[] = {200, 201, 204, 301, 304, 400, 401, 403, 404,
                                      405, 409, 410, 418, 422, 429, 499, 500, 502,
                                      503, 504, 599, 600, 0,   -1,  100, 399};
  const uint8_t pick = in.ConsumeIntegral<uint8_t>();
  if (pick < 240) return kStatuses[pick % (sizeof kStatuses / sizeof kStatuses[0])];
  return in.ConsumeIntegral<int>();
}

void Run(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const auto op = static_cast<LeafOperation>(in.ConsumeIntegralInRange<int>(0, 4));
  http::HttpResponse response;
  response.status_code = PickStatus(in);
  const std::string retry_after = in.ConsumeRandomLengthString(40);
  if (in.ConsumeBool()) response.headers.emplace_back("content-type", "application/problem+json");
  response.headers.emplace_back("retry-after", retry_after);
  response.body = in.ConsumeRemainingBytesAsString();
  const int http = response.status_code;

  const absl::Status status = leaf::StatusFromLeafResponse(op, response, "AgLeader");
  const std::string text = StatusText(status);
  const std::string where =
      absl::StrCat(" [op ", static_cast<int>(op), ", HTTP ", http, ", Retry-After \"",
                   Printable(retry_after), "\", body \"", Printable(response.body, 200), "\"]");
  FUZZ_CHECK(!status.ok(), "an error response became OK" + where);

  const StatusDetails d = GetStatusDetails(status);
  const Expected want = Table(op, http);
  FUZZ_CHECK(want.reasons.count(d.reason) == 1,
             absl::StrCat("reason ", d.reason, " for ", status.ToString(), where));
  const Code want_code = d.reason == "CREDENTIALS_ALREADY_EXIST" ? Code::kAlreadyExists : want.code;
  FUZZ_CHECK(status.code() == want_code, status.ToString() + where);

  const std::optional<leaf::Problem> problem = leaf::DecodeProblem(response.body);
  if (!problem) {
    // Without a problem body nothing can say "duplicate" or "unknown user".
    FUZZ_CHECK(d.reason != "LEAF_USER_NOT_FOUND" &&
                   (d.reason != "CREDENTIALS_ALREADY_EXIST" || http == 409),
               d.reason + where);
  }

  auto meta = d.metadata.find("leaf_http_status");
  FUZZ_CHECK(meta != d.metadata.end() && meta->second == absl::StrCat(http), text + where);
  // Leaf's text is kept whole until the exit, which redacts, then cuts it.
  const StatusDetails exit_details = GetStatusDetails(ExitStatus(status, Redactor()));
  for (const char* key : {"leaf_message", "leaf_error_key"}) {
    auto it = exit_details.metadata.find(key);
    if (it == exit_details.metadata.end()) continue;
    // At most 300 bytes of Leaf's text and "...".
    FUZZ_CHECK(!it->second.empty() && it->second.size() <= 300 + 3 && !HasControl(it->second),
               absl::StrCat(key, "=\"", Printable(it->second), "\"", where));
  }
  FUZZ_CHECK(!HasControl(status.message()),
             absl::StrCat("control character in \"", Printable(status.message()), "\"", where));

  // Leaf's own words are passed on; nothing else from the body is.
  const std::string leaf_text =
      problem ? absl::StrCat(problem->Summary(), "\n", problem->error_key) : "";
  FUZZ_CHECK(
      !absl::StrContains(text, kMarker) || absl::StrContains(leaf_text, kMarker),
      absl::StrCat("error echoes the body outside Leaf's message: ", Printable(text), where));
  // Whatever Leaf sent (invalid UTF-8, a character cut by the 300-byte cap).
  FUZZ_CHECK(IsValidUtf8(status.message()),
             absl::StrCat("message is not UTF-8 (proto3 strings must be): ",
                          Printable(status.message()), where));
  for (const auto& [key, value] : d.metadata) {
    FUZZ_CHECK(IsValidUtf8(value),
               absl::StrCat("metadata ", key, " is not UTF-8: ", Printable(value), where));
  }

  const bool may_retry = want.code == Code::kResourceExhausted || want.code == Code::kUnavailable;
  FUZZ_CHECK(may_retry || !d.retry_delay.has_value(), "retry delay on " + text + where);
  if (d.retry_delay) {
    FUZZ_CHECK(*d.retry_delay >= absl::ZeroDuration(), text + where);
  }
  int64_t seconds = 0;
  const absl::string_view trimmed = absl::StripAsciiWhitespace(retry_after);
  if (may_retry && !trimmed.empty() && absl::ascii_isdigit(trimmed[0]) &&
      absl::SimpleAtoi(trimmed, &seconds) && seconds <= 1000000000) {
    FUZZ_CHECK(
        d.retry_delay.has_value() &&
            *d.retry_delay == absl::Seconds(std::min<int64_t>(seconds, 24 * 3600)),
        absl::StrCat("Retry-After ", seconds, " became ",
                     d.retry_delay ? absl::FormatDuration(*d.retry_delay) : "nothing", where));
  }
  // Without Retry-After, only a 429 says when to come back (the budget's
  // first pause): callers still learn when to retry.
  if (trimmed.empty()) {
    if (http == 429) {
      FUZZ_CHECK(d.retry_delay == leaf::kLeafRateLimitedRetryDelay, text + where);
    } else {
      FUZZ_CHECK(!d.retry_delay.has_value(), text + where);
    }
  }
}

}  // namespace
}  // namespace leafsvc::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  leafsvc::fuzz::Run(data, size);
  return 0;
}
