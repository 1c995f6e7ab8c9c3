#include "server/leaf/leaf_errors.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/leaf/leaf_json.h"
#include "server/util/status_details.h"
#include "server/util/utf8.h"

namespace leafsvc::leaf {
namespace {

const char* Describe(LeafOperation op) {
  switch (op) {
    case LeafOperation::kLogin: return "logging in to Leaf";
    case LeafOperation::kGetCredentials: return "getting AgLeader credentials";
    case LeafOperation::kCreateCredentials: return "creating AgLeader credentials";
    case LeafOperation::kDeleteCredentials: return "deleting AgLeader credentials";
    case LeafOperation::kListEvents: return "listing AgLeader credential events";
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

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value,
                                              absl::Time now) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return std::nullopt;
  // Capped at a day: beyond that a delay is meaningless (and would not fit
  // google.protobuf.Duration if absurd).
  constexpr int64_t kMaxSeconds = 24 * 3600;
  int64_t seconds;
  if (absl::SimpleAtoi(value, &seconds)) {
    if (seconds < 0) return std::nullopt;
    return absl::Seconds(std::min(seconds, kMaxSeconds));
  }
  absl::Time when;
  std::string err;
  if (absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", std::string(value), &when, &err)) {
    return when > now ? std::min(when - now, absl::Seconds(kMaxSeconds)) : absl::ZeroDuration();
  }
  return std::nullopt;
}

absl::Status StatusFromLeafResponse(LeafOperation op,
                                    const http::HttpResponse& response) {
  const int http = response.status_code;
  Problem problem = DecodeProblem(response.body).value_or(Problem{});
  std::string leaf_message = Sanitize(problem.Summary());

  StatusDetails d;
  d.metadata[std::string(kMetaHttpStatus)] = absl::StrCat(http);
  if (!leaf_message.empty()) d.metadata[std::string(kMetaLeafMessage)] = leaf_message;
  if (!problem.error_key.empty()) {
    d.metadata[std::string(kMetaLeafErrorKey)] = Sanitize(problem.error_key);
  }
  const std::string said =
      leaf_message.empty() ? "" : absl::StrCat(": ", leaf_message);

  absl::StatusCode code;
  std::string message;
  if (op == LeafOperation::kLogin && http >= 400 && http < 500 && http != 429) {
    code = absl::StatusCode::kUnauthenticated;
    d.reason = std::string(kReasonLeafLoginFailed);
    message = absl::StrCat("Leaf refused this service's login (HTTP ", http, said,
                           "); check --leaf_username and --leaf_password");
  } else if (http == 400 && op == LeafOperation::kCreateCredentials &&
             LooksLikeDuplicate(problem)) {
    code = absl::StatusCode::kAlreadyExists;
    d.reason = std::string(kReasonAlreadyExist);
    message = absl::StrCat("the Leaf user already has AgLeader credentials (HTTP 400", said,
                           "); delete them first to replace them");
  } else if (http == 400) {
    code = absl::StatusCode::kInvalidArgument;
    d.reason = std::string(kReasonLeafRejected);
    message = absl::StrCat("Leaf rejected the request while ", Describe(op), " (HTTP 400",
                           said, ")");
  } else if (http == 401) {
    code = absl::StatusCode::kUnauthenticated;
    d.reason = std::string(kReasonLeafTokenRejected);
    message = absl::StrCat("Leaf rejected this service's API token while ", Describe(op),
                           " (HTTP 401", said,
                           "); check --leaf_token or --leaf_username/--leaf_password");
  } else if (http == 403) {
    code = absl::StatusCode::kPermissionDenied;
    d.reason = std::string(kReasonLeafPermissionDenied);
    message = absl::StrCat("Leaf denied permission while ", Describe(op), " (HTTP 403",
                           said, ")");
  } else if (http == 404 && LooksLikeUnknownUser(problem)) {
    code = absl::StatusCode::kNotFound;
    d.reason = std::string(kReasonLeafUserNotFound);
    message = absl::StrCat("Leaf has no such user (HTTP 404", said,
                           "); check leaf_user_id");
  } else if (http == 404) {
    code = absl::StatusCode::kNotFound;
    d.reason = std::string(kReasonCredentialsNotFound);
    message = absl::StrCat("the Leaf user has no AgLeader credentials (HTTP 404", said, ")");
  } else if (http == 409) {
    code = absl::StatusCode::kAlreadyExists;
    d.reason = std::string(kReasonAlreadyExist);
    message = absl::StrCat("the Leaf user already has AgLeader credentials (HTTP 409", said,
                           "); delete them first to replace them");
  } else if (http == 429) {
    code = absl::StatusCode::kResourceExhausted;
    d.reason = std::string(kReasonLeafRateLimited);
    d.retry_delay = ParseRetryAfter(response.Header("retry-after"), absl::Now());
    message = absl::StrCat("Leaf is rate limiting requests (HTTP 429", said, "); retry ",
                           d.retry_delay ? absl::StrCat("after ", absl::FormatDuration(*d.retry_delay))
                                         : std::string("later"));
  } else if (http >= 500 && http < 600) {
    code = absl::StatusCode::kUnavailable;
    d.reason = std::string(kReasonLeafUnavailable);
    d.retry_delay = ParseRetryAfter(response.Header("retry-after"), absl::Now());
    message = absl::StrCat("Leaf failed while ", Describe(op), " (HTTP ", http, said,
                           "); retry later");
    if (op == LeafOperation::kCreateCredentials) {
      d.metadata[std::string(kMetaMaybeApplied)] = "true";
    }
  } else if (http >= 400 && http < 500) {
    code = absl::StatusCode::kFailedPrecondition;
    d.reason = std::string(kReasonLeafRejected);
    message = absl::StrCat("Leaf refused the request while ", Describe(op), " (HTTP ", http,
                           said, ")");
  } else {
    code = absl::StatusCode::kUnknown;
    d.reason = std::string(kReasonLeafUnexpectedResponse);
    message = absl::StrCat("Leaf answered with unexpected HTTP status ", http, " while ",
                           Describe(op));
  }
  return MakeStatus(code, message, d);
}

absl::Status StatusFromTransportError(LeafOperation op, const absl::Status& transport,
                                      absl::string_view host) {
  StatusDetails d;
  if (http::MaybeSent(transport) && op != LeafOperation::kGetCredentials &&
      op != LeafOperation::kListEvents) {
    d.metadata[std::string(kMetaMaybeApplied)] = "true";
  }
  absl::StatusCode code;
  std::string message;
  switch (transport.code()) {
    case absl::StatusCode::kDeadlineExceeded:
      code = absl::StatusCode::kDeadlineExceeded;
      d.reason = std::string(kReasonLeafTimeout);
      message = absl::StrCat("Leaf did not answer in time while ", Describe(op), " (",
                             transport.message(), ")");
      break;
    case absl::StatusCode::kCancelled:
      code = absl::StatusCode::kCancelled;
      d.reason = std::string(kReasonCancelled);
      message = absl::StrCat("the call was cancelled while ", Describe(op));
      break;
    case absl::StatusCode::kUnavailable:
      code = absl::StatusCode::kUnavailable;
      d.reason = std::string(kReasonLeafUnreachable);
      message = absl::StrCat("could not reach Leaf at ", host, " while ", Describe(op),
                             ": ", transport.message());
      break;
    case absl::StatusCode::kResourceExhausted:
      code = absl::StatusCode::kInternal;
      d.reason = std::string(kReasonLeafResponseTooLarge);
      message = absl::StrCat("Leaf's response was refused while ", Describe(op), ": ",
                             transport.message());
      break;
    default:
      code = absl::StatusCode::kInternal;
      d.reason = std::string(kReasonTransportError);
      message = absl::StrCat("calling Leaf at ", host, " failed while ", Describe(op), ": ",
                             transport.message());
  }
  return MakeStatus(code, message, d);
}

absl::Status StatusFromBadBody(LeafOperation op, int http_status,
                               const absl::Status& decode_error) {
  StatusDetails d;
  d.reason = std::string(kReasonLeafBadResponse);
  d.metadata[std::string(kMetaHttpStatus)] = absl::StrCat(http_status);
  if (op == LeafOperation::kCreateCredentials) {
    // Leaf answered success: the credentials are most likely stored.
    d.metadata[std::string(kMetaMaybeApplied)] = "true";
  }
  return MakeStatus(absl::StatusCode::kInternal,
                    absl::StrCat("Leaf answered HTTP ", http_status, " while ", Describe(op),
                                 ", but its response could not be read: ",
                                 decode_error.message()),
                    d);
}

}  // namespace leafsvc::leaf
