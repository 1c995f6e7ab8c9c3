#include "server/leaf/leaf_errors.h"

#include "gtest/gtest.h"
#include "server/errors/status_details.h"

namespace leafsvc::leaf {
namespace {

// ProviderSpec::display_name of AgLeader, as the Leaf client passes it.
constexpr absl::string_view kProvider = "AgLeader";

http::HttpResponse Response(int status, std::string body = "", http::HttpHeaders headers = {}) {
  http::HttpResponse r;
  r.status_code = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

std::string Problem(int status, const std::string& error_key = "", const std::string& detail = "") {
  std::string json = "{\"title\":\"t\",\"status\":" + std::to_string(status) +
                     ",\"message\":\"error.http." + std::to_string(status) + "\"";
  if (!error_key.empty()) json += ",\"errorKey\":\"" + error_key + "\"";
  if (!detail.empty()) json += ",\"detail\":\"" + detail + "\"";
  return json + "}";
}

struct Row {
  LeafOperation op;
  int http;
  std::string body;
  absl::StatusCode code;
  std::string reason;
};

// The README's error table, row by row.
TEST(LeafErrorsTest, MappingTable) {
  const Row rows[] = {
      {LeafOperation::kGetCredentials, 400, Problem(400), absl::StatusCode::kInvalidArgument,
       "LEAF_REJECTED_REQUEST"},
      {LeafOperation::kCreateCredentials, 400, Problem(400, "credentialsalreadyexist"),
       absl::StatusCode::kAlreadyExists, "CREDENTIALS_ALREADY_EXIST"},
      {LeafOperation::kCreateCredentials, 400, Problem(400, "", "Credentials already exist"),
       absl::StatusCode::kAlreadyExists, "CREDENTIALS_ALREADY_EXIST"},
      {LeafOperation::kCreateCredentials, 400, Problem(400, "invalidrefreshtoken"),
       absl::StatusCode::kInvalidArgument, "LEAF_REJECTED_REQUEST"},
      {LeafOperation::kGetCredentials, 401, Problem(401), absl::StatusCode::kUnauthenticated,
       "LEAF_TOKEN_REJECTED"},
      {LeafOperation::kLogin, 401, Problem(401), absl::StatusCode::kUnauthenticated,
       "LEAF_LOGIN_FAILED"},
      {LeafOperation::kGetCredentials, 403, "", absl::StatusCode::kPermissionDenied,
       "LEAF_PERMISSION_DENIED"},
      {LeafOperation::kGetCredentials, 404, Problem(404, "credentialsnotfound"),
       absl::StatusCode::kNotFound, "CREDENTIALS_NOT_FOUND"},
      {LeafOperation::kDeleteCredentials, 404, "", absl::StatusCode::kNotFound,
       "CREDENTIALS_NOT_FOUND"},
      {LeafOperation::kGetCredentials, 404, Problem(404, "usernotfound"),
       absl::StatusCode::kNotFound, "LEAF_USER_NOT_FOUND"},
      {LeafOperation::kCreateCredentials, 409, Problem(409), absl::StatusCode::kAlreadyExists,
       "CREDENTIALS_ALREADY_EXIST"},
      {LeafOperation::kGetCredentials, 429, "", absl::StatusCode::kResourceExhausted,
       "LEAF_RATE_LIMITED"},
      {LeafOperation::kGetCredentials, 500, Problem(500), absl::StatusCode::kUnavailable,
       "LEAF_UNAVAILABLE"},
      {LeafOperation::kListEvents, 502, "<html>Bad Gateway</html>", absl::StatusCode::kUnavailable,
       "LEAF_UNAVAILABLE"},
      {LeafOperation::kGetCredentials, 503, "", absl::StatusCode::kUnavailable, "LEAF_UNAVAILABLE"},
      {LeafOperation::kGetCredentials, 418, "", absl::StatusCode::kFailedPrecondition,
       "LEAF_REJECTED_REQUEST"},
      {LeafOperation::kGetCredentials, 302, "", absl::StatusCode::kUnknown,
       "LEAF_UNEXPECTED_RESPONSE"},
  };
  for (const Row& row : rows) {
    absl::Status st = StatusFromLeafResponse(row.op, Response(row.http, row.body), kProvider);
    EXPECT_EQ(st.code(), row.code) << row.http << " " << row.body;
    StatusDetails d = GetStatusDetails(st);
    EXPECT_EQ(d.reason, row.reason) << row.http << " " << row.body;
    EXPECT_EQ(d.metadata.at("leaf_http_status"), std::to_string(row.http));
  }
}

TEST(LeafErrorsTest, LeafMessageAndErrorKeyGoToMetadataAndMessage) {
  absl::Status st = StatusFromLeafResponse(
      LeafOperation::kCreateCredentials,
      Response(400, Problem(400, "badthing", "The refresh token is malformed")), kProvider);
  StatusDetails d = GetStatusDetails(st);
  EXPECT_EQ(d.metadata.at("leaf_message"), "The refresh token is malformed");
  EXPECT_EQ(d.metadata.at("leaf_error_key"), "badthing");
  EXPECT_NE(st.message().find("The refresh token is malformed"), absl::string_view::npos);
  EXPECT_NE(st.message().find("HTTP 400"), absl::string_view::npos);
}

TEST(LeafErrorsTest, LeafMessageIsShortenedAndStrippedOfControlCharacters) {
  std::string detail(1000, 'x');
  detail[5] = '\n';
  std::string body = "{\"detail\":\"" + detail.substr(0, 5) + "\\n" + detail.substr(6) + "\"}";
  const absl::Status st =
      StatusFromLeafResponse(LeafOperation::kGetCredentials, Response(400, body), kProvider);
  EXPECT_EQ(GetStatusDetails(st).metadata.at("leaf_message").find('\n'), std::string::npos);
  // Shortened at the exit (after redaction), not before.
  StatusDetails d = GetStatusDetails(ExitStatus(st, Redactor()));
  const std::string& m = d.metadata.at("leaf_message");
  EXPECT_LT(m.size(), 310u);
  EXPECT_EQ(m.find('\n'), std::string::npos);
}

TEST(LeafErrorsTest, RetryAfterBecomesRetryDelay) {
  StatusDetails d = GetStatusDetails(StatusFromLeafResponse(
      LeafOperation::kGetCredentials, Response(429, "", {{"retry-after", "7"}}), kProvider));
  ASSERT_TRUE(d.retry_delay.has_value());
  EXPECT_EQ(*d.retry_delay, absl::Seconds(7));
}

// Leaf's gateway usually sends no Retry-After: the caller still gets a
// RetryInfo.
TEST(LeafErrorsTest, A429WithoutRetryAfterStillSaysWhenToComeBack) {
  StatusDetails d = GetStatusDetails(StatusFromLeafResponse(
      LeafOperation::kGetCredentials,
      Response(429,
               R"({"error":"Request limit exceeded","message":"slow down","status_code":429})"),
      kProvider));
  EXPECT_EQ(d.reason, "LEAF_RATE_LIMITED");
  ASSERT_TRUE(d.retry_delay.has_value());
  EXPECT_EQ(*d.retry_delay, kLeafRateLimitedRetryDelay);
}

TEST(LeafErrorsTest, TransportErrors) {
  struct Case {
    absl::Status transport;
    absl::StatusCode code;
    const char* reason;
  } cases[] = {
      {absl::UnavailableError("Connection refused"), absl::StatusCode::kUnavailable,
       "LEAF_UNREACHABLE"},
      {absl::DeadlineExceededError("Operation timed out"), absl::StatusCode::kDeadlineExceeded,
       "LEAF_TIMEOUT"},
      {absl::CancelledError("cancelled"), absl::StatusCode::kCancelled, "CANCELLED"},
      {absl::ResourceExhaustedError("larger than 10 bytes"), absl::StatusCode::kInternal,
       "LEAF_RESPONSE_TOO_LARGE"},
      {absl::InternalError("weird"), absl::StatusCode::kInternal, "LEAF_TRANSPORT_ERROR"},
  };
  for (const Case& c : cases) {
    absl::Status st = StatusFromTransportError(LeafOperation::kGetCredentials, c.transport,
                                               "https://leaf", kProvider);
    EXPECT_EQ(st.code(), c.code) << c.transport;
    EXPECT_EQ(GetStatusDetails(st).reason, c.reason) << c.transport;
  }
  absl::Status refused = StatusFromTransportError(LeafOperation::kGetCredentials,
                                                  absl::UnavailableError("Connection refused"),
                                                  "https://leaf", kProvider);
  EXPECT_NE(refused.message().find("https://leaf"), absl::string_view::npos);
  EXPECT_NE(refused.message().find("Connection refused"), absl::string_view::npos);
}

TEST(LeafErrorsTest, MaybeSentCreateIsFlagged) {
  absl::Status transport = absl::UnavailableError("reset");
  transport.SetPayload(http::kMaybeSentPayload, absl::Cord("true"));
  StatusDetails d = GetStatusDetails(
      StatusFromTransportError(LeafOperation::kCreateCredentials, transport, "h", kProvider));
  EXPECT_EQ(d.metadata.at("request_may_have_reached_leaf"), "true");

  StatusDetails not_sent = GetStatusDetails(StatusFromTransportError(
      LeafOperation::kCreateCredentials, absl::UnavailableError("refused"), "h", kProvider));
  EXPECT_EQ(not_sent.metadata.count("request_may_have_reached_leaf"), 0u);
}

// The words people read (and docs/errors.md quotes) name the provider as
// its spec's display name: for AgLeader exactly as before specs existed.
TEST(LeafErrorsTest, MessagesNameTheProviderByItsDisplayName) {
  EXPECT_EQ(
      StatusFromLeafResponse(LeafOperation::kGetCredentials, Response(404), kProvider).message(),
      "the Leaf user has no AgLeader credentials (HTTP 404)");
  EXPECT_EQ(
      StatusFromLeafResponse(LeafOperation::kCreateCredentials, Response(409), kProvider).message(),
      "the Leaf user already has AgLeader credentials (HTTP 409); delete them first to "
      "replace them");
  EXPECT_EQ(
      StatusFromLeafResponse(LeafOperation::kCreateCredentials,
                             Response(400, Problem(400, "credentialsalreadyexist")), kProvider)
          .message(),
      "the Leaf user already has AgLeader credentials (HTTP 400: t); delete them first to "
      "replace them");
  EXPECT_EQ(
      StatusFromLeafResponse(LeafOperation::kDeleteCredentials, Response(403), kProvider).message(),
      "Leaf denied permission while deleting AgLeader credentials (HTTP 403)");
  EXPECT_EQ(StatusFromLeafResponse(LeafOperation::kListEvents, Response(400), kProvider).message(),
            "Leaf rejected the request while listing AgLeader credential events (HTTP 400)");
  EXPECT_EQ(StatusFromTransportError(LeafOperation::kCreateCredentials,
                                     absl::DeadlineExceededError("t/o"), "h", kProvider)
                .message(),
            "Leaf did not answer in time while creating AgLeader credentials (t/o)");
  EXPECT_EQ(StatusFromBadBody(LeafOperation::kGetCredentials, 200,
                              absl::InvalidArgumentError("why"), kProvider)
                .message(),
            "Leaf answered HTTP 200 while getting AgLeader credentials, but its response could "
            "not be read: why");

  // Another provider is named by its own display name, nowhere by AgLeader's.
  const absl::Status other =
      StatusFromLeafResponse(LeafOperation::kGetCredentials, Response(404), "Testland");
  EXPECT_EQ(other.message(), "the Leaf user has no Testland credentials (HTTP 404)");
  EXPECT_EQ(GetStatusDetails(other).reason, "CREDENTIALS_NOT_FOUND");
  EXPECT_EQ(
      StatusFromTransportError(LeafOperation::kListEvents, absl::CancelledError(), "", "Testland")
          .message(),
      "the call was cancelled while listing Testland credential events");
}

TEST(LeafErrorsTest, BadBody) {
  absl::Status st = StatusFromBadBody(LeafOperation::kGetCredentials, 200,
                                      absl::InvalidArgumentError("not valid JSON"), kProvider);
  EXPECT_EQ(st.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(GetStatusDetails(st).reason, "LEAF_BAD_RESPONSE");
  EXPECT_NE(st.message().find("not valid JSON"), absl::string_view::npos);
}

}  // namespace
}  // namespace leafsvc::leaf

namespace leafsvc::leaf {
namespace {

TEST(LeafErrorsUtf8Test, LeafMessageIsAlwaysValidUtf8) {
  // 299 ASCII bytes then a 2-byte character: the cut at 300 must not split it.
  std::string detail(299, 'a');
  detail += "\xC3\xA9 more";
  http::HttpResponse r;
  r.status_code = 400;
  r.body = "{\"detail\":\"" + detail + "\"}";
  // Leaf's words are kept whole here (a secret in them must be redacted
  // before any cut); the exit cuts them.
  const absl::Status st = StatusFromLeafResponse(LeafOperation::kGetCredentials, r, kProvider);
  EXPECT_EQ(GetStatusDetails(st).metadata.at("leaf_message"), detail);
  StatusDetails d = GetStatusDetails(ExitStatus(st, Redactor()));
  const std::string& m = d.metadata.at("leaf_message");
  EXPECT_EQ(m, std::string(299, 'a') + "...");
}

}  // namespace
}  // namespace leafsvc::leaf

namespace leafsvc::leaf {
namespace {}  // namespace
}  // namespace leafsvc::leaf
