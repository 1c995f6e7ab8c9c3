#include "server/leaf/leaf_errors.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"
#include "server/http/retry_after.h"
#include "server/leaf/leaf_json.h"
#include "server/text/utf8.h"

namespace leafsvc::leaf {
namespace {

std::string Describe(LeafOperation op, absl::string_view provider) {
  switch (op) {
    case LeafOperation::kLogin:
      return "logging in to Leaf";
    case LeafOperation::kGetCredentials:
      return absl::StrCat("getting ", provider, " credentials");
    case LeafOperation::kCreateCredentials:
      return absl::StrCat("creating ", provider, " credentials");
    case LeafOperation::kDeleteCredentials:
      return absl::StrCat("deleting ", provider, " credentials");
    case LeafOperation::kListEvents:
      return absl::StrCat("listing ", provider, " credential events");
    case LeafOperation::kListUsers:
      return "listing Leaf users";
  }
  return "calling Leaf";
}

// Leaf's own words, whole, valid UTF-8, with control characters blanked so
// they cannot forge log lines. Not shortened here: the text may quote a
// secret, and only the exit (ExitStatus, after redaction) may cut it.
std::string Sanitize(absl::string_view text) {
  std::string out = ValidUtf8(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

bool LooksLikeDuplicate(const Problem& p) {
  std::string key = absl::AsciiStrToLower(p.error_key);
  std::string text = absl::AsciiStrToLower(absl::StrCat(p.title, " ", p.detail, " ", p.message));
  return absl::StrContains(key, "exist") || absl::StrContains(key, "duplicate") ||
         absl::StrContains(text, "already exist");
}

bool LooksLikeUnknownUser(const Problem& p) {
  std::string key = absl::AsciiStrToLower(p.error_key);
  std::string text = absl::AsciiStrToLower(absl::StrCat(p.title, " ", p.detail, " ", p.message));
  return absl::StrContains(key, "user") || absl::StrContains(text, "user not found");
}

}  // namespace

absl::Status StatusFromLeafResponse(LeafOperation op, const http::HttpResponse& response,
                                    absl::string_view provider) {
  const int http = response.status_code;
  Problem problem = DecodeProblem(response.body).value_or(Problem{});
  std::string leaf_message = Sanitize(problem.Summary());

  StatusDetails d;
  d.metadata[std::string(kMetaHttpStatus)] = absl::StrCat(http);
  if (!leaf_message.empty()) d.metadata[std::string(kMetaLeafMessage)] = leaf_message;
  if (!problem.error_key.empty()) {
    d.metadata[std::string(kMetaLeafErrorKey)] = Sanitize(problem.error_key);
  }
  const std::string said = leaf_message.empty() ? "" : absl::StrCat(": ", leaf_message);

  const Reason* reason;
  bool other_code = false;  // LEAF_REJECTED_REQUEST for a 4xx that is not 400
  std::string message;
  if (op == LeafOperation::kLogin && http >= 400 && http < 500 && http != 429) {
    reason = &reasons::kLeafLoginFailed;
    message = absl::StrCat("Leaf refused this service's login (HTTP ", http, said,
                           "); check --leaf_username and --leaf_password");
  } else if (http == 400 && op == LeafOperation::kCreateCredentials &&
             LooksLikeDuplicate(problem)) {
    reason = &reasons::kCredentialsAlreadyExist;
    message = absl::StrCat("the Leaf user already has ", provider, " credentials (HTTP 400", said,
                           "); delete them first to replace them");
  } else if (http == 400) {
    reason = &reasons::kLeafRejectedRequest;
    message = absl::StrCat("Leaf rejected the request while ", Describe(op, provider), " (HTTP 400",
                           said, ")");
  } else if (http == 401) {
    reason = &reasons::kLeafTokenRejected;
    message = absl::StrCat("Leaf rejected this service's API token while ", Describe(op, provider),
                           " (HTTP 401", said,
                           "); check --leaf_token or --leaf_username/--leaf_password");
  } else if (http == 403) {
    reason = &reasons::kLeafPermissionDenied;
    message = absl::StrCat("Leaf denied permission while ", Describe(op, provider), " (HTTP 403",
                           said, ")");
  } else if (http == 404 && LooksLikeUnknownUser(problem)) {
    reason = &reasons::kLeafUserNotFound;
    message = absl::StrCat("Leaf has no such user (HTTP 404", said, "); check leaf_user_id");
  } else if (http == 404) {
    reason = &reasons::kCredentialsNotFound;
    message = absl::StrCat("the Leaf user has no ", provider, " credentials (HTTP 404", said, ")");
  } else if (http == 409) {
    reason = &reasons::kCredentialsAlreadyExist;
    message = absl::StrCat("the Leaf user already has ", provider, " credentials (HTTP 409", said,
                           "); delete them first to replace them");
  } else if (http == 429) {
    reason = &reasons::kLeafRateLimited;
    d.retry_delay = http::ParseRetryAfter(response.Header("retry-after"), absl::Now());
    message =
        absl::StrCat("Leaf is rate limiting requests (HTTP 429", said, "); retry ",
                     d.retry_delay ? absl::StrCat("after ", absl::FormatDuration(*d.retry_delay))
                                   : std::string("in a few seconds"));
    // Leaf usually sends no Retry-After: callers still learn when to come
    // back (the request budget's first pause after a 429).
    if (!d.retry_delay) d.retry_delay = kLeafRateLimitedRetryDelay;
  } else if (http >= 500 && http < 600) {
    reason = &reasons::kLeafUnavailable;
    d.retry_delay = http::ParseRetryAfter(response.Header("retry-after"), absl::Now());
    message = absl::StrCat("Leaf failed while ", Describe(op, provider), " (HTTP ", http, said,
                           "); retry later");
    if (op == LeafOperation::kCreateCredentials) {
      d.metadata[std::string(kMetaMaybeApplied)] = "true";
    }
  } else if (http >= 400 && http < 500) {
    reason = &reasons::kLeafRejectedRequest;
    other_code = true;
    message = absl::StrCat("Leaf refused the request while ", Describe(op, provider), " (HTTP ",
                           http, said, ")");
  } else {
    reason = &reasons::kLeafUnexpectedResponse;
    message = absl::StrCat("Leaf answered with unexpected HTTP status ", http, " while ",
                           Describe(op, provider));
  }
  return other_code ? MakeErrorWithOtherCode(*reason, message, d) : MakeError(*reason, message, d);
}

absl::Status StatusFromTransportError(LeafOperation op, const absl::Status& transport,
                                      absl::string_view host, absl::string_view provider) {
  StatusDetails d;
  if (http::MaybeSent(transport) && op != LeafOperation::kGetCredentials &&
      op != LeafOperation::kListEvents && op != LeafOperation::kListUsers) {
    d.metadata[std::string(kMetaMaybeApplied)] = "true";
  }
  const Reason* reason;
  std::string message;
  switch (transport.code()) {
    case absl::StatusCode::kDeadlineExceeded:
      reason = &reasons::kLeafTimeout;
      message = absl::StrCat("Leaf did not answer in time while ", Describe(op, provider), " (",
                             transport.message(), ")");
      break;
    case absl::StatusCode::kCancelled:
      reason = &reasons::kCancelled;
      message = absl::StrCat("the call was cancelled while ", Describe(op, provider));
      break;
    case absl::StatusCode::kUnavailable:
      reason = &reasons::kLeafUnreachable;
      message = absl::StrCat("could not reach Leaf at ", host, " while ", Describe(op, provider),
                             ": ", transport.message());
      break;
    case absl::StatusCode::kResourceExhausted:
      reason = &reasons::kLeafResponseTooLarge;
      message = absl::StrCat("Leaf's response was refused while ", Describe(op, provider), ": ",
                             transport.message());
      break;
    default:
      reason = &reasons::kLeafTransportError;
      message = absl::StrCat("calling Leaf at ", host, " failed while ", Describe(op, provider),
                             ": ", transport.message());
  }
  return MakeError(*reason, message, d);
}

absl::Status StatusFromBadBody(LeafOperation op, int http_status, const absl::Status& decode_error,
                               absl::string_view provider) {
  StatusDetails d;
  d.metadata[std::string(kMetaHttpStatus)] = absl::StrCat(http_status);
  if (op == LeafOperation::kCreateCredentials) {
    // Leaf answered success: the credentials are most likely stored.
    d.metadata[std::string(kMetaMaybeApplied)] = "true";
  }
  return MakeError(
      reasons::kLeafBadResponse,
      absl::StrCat("Leaf answered HTTP ", http_status, " while ", Describe(op, provider),
                   ", but its response could not be read: ", decode_error.message()),
      d);
}

}  // namespace leafsvc::leaf
