#include "server/leaf/leaf_errors.h"

#include "gtest/gtest.h"
#include "server/util/status_details.h"

namespace leafsvc::leaf {
namespace {

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
    absl::Status st = StatusFromLeafResponse(row.op, Response(row.http, row.body));
    EXPECT_EQ(st.code(), row.code) << row.http << " " << row.body;
    StatusDetails d = GetStatusDetails(st);
    EXPECT_EQ(d.reason, row.reason) << row.http << " " << row.body;
    EXPECT_EQ(d.metadata.at("leaf_http_status"), std::to_string(row.http));
  }
}

TEST(LeafErrorsTest, LeafMessageAndErrorKeyGoToMetadataAndMessage) {
  absl::Status st = StatusFromLeafResponse(
      LeafOperation::kCreateCredentials,
      Response(400, Problem(400, "badthing", "The refresh token is malformed")));
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
  const absl::Status st = StatusFromLeafResponse(LeafOperation::kGetCredentials, Response(400, body));
  EXPECT_EQ(GetStatusDetails(st).metadata.at("leaf_message").find('\n'), std::string::npos);
  // Shortened at the exit (after redaction), not before.
  StatusDetails d = GetStatusDetails(ExitStatus(st, Redactor()));
  const std::string& m = d.metadata.at("leaf_message");
  EXPECT_LT(m.size(), 310u);
  EXPECT_EQ(m.find('\n'), std::string::npos);
}

TEST(LeafErrorsTest, RetryAfterBecomesRetryDelay) {
  StatusDetails d = GetStatusDetails(StatusFromLeafResponse(
      LeafOperation::kGetCredentials, Response(429, "", {{"retry-after", "7"}})));
  ASSERT_TRUE(d.retry_delay.has_value());
  EXPECT_EQ(*d.retry_delay, absl::Seconds(7));
}

TEST(LeafErrorsTest, ParseRetryAfterForms) {
  const absl::Time now = absl::FromUnixSeconds(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
  EXPECT_EQ(ParseRetryAfter("120", now), absl::Seconds(120));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now), absl::Seconds(30));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now), absl::ZeroDuration());
  EXPECT_FALSE(ParseRetryAfter("", now).has_value());
  EXPECT_FALSE(ParseRetryAfter("-3", now).has_value());
  EXPECT_FALSE(ParseRetryAfter("soon", now).has_value());
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
    absl::Status st =
        StatusFromTransportError(LeafOperation::kGetCredentials, c.transport, "https://leaf");
    EXPECT_EQ(st.code(), c.code) << c.transport;
    EXPECT_EQ(GetStatusDetails(st).reason, c.reason) << c.transport;
  }
  absl::Status refused = StatusFromTransportError(
      LeafOperation::kGetCredentials, absl::UnavailableError("Connection refused"), "https://leaf");
  EXPECT_NE(refused.message().find("https://leaf"), absl::string_view::npos);
  EXPECT_NE(refused.message().find("Connection refused"), absl::string_view::npos);
}

TEST(LeafErrorsTest, MaybeSentCreateIsFlagged) {
  absl::Status transport = absl::UnavailableError("reset");
  transport.SetPayload(http::kMaybeSentPayload, absl::Cord("true"));
  StatusDetails d =
      GetStatusDetails(StatusFromTransportError(LeafOperation::kCreateCredentials, transport, "h"));
  EXPECT_EQ(d.metadata.at("request_may_have_reached_leaf"), "true");

  StatusDetails not_sent = GetStatusDetails(StatusFromTransportError(
      LeafOperation::kCreateCredentials, absl::UnavailableError("refused"), "h"));
  EXPECT_EQ(not_sent.metadata.count("request_may_have_reached_leaf"), 0u);
}

TEST(LeafErrorsTest, BadBody) {
  absl::Status st = StatusFromBadBody(LeafOperation::kGetCredentials, 200,
                                      absl::InvalidArgumentError("not valid JSON"));
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
  const absl::Status st = StatusFromLeafResponse(LeafOperation::kGetCredentials, r);
  EXPECT_EQ(GetStatusDetails(st).metadata.at("leaf_message"), detail);
  StatusDetails d = GetStatusDetails(ExitStatus(st, Redactor()));
  const std::string& m = d.metadata.at("leaf_message");
  EXPECT_EQ(m, std::string(299, 'a') + "...");
}

}  // namespace
}  // namespace leafsvc::leaf

namespace leafsvc::leaf {
namespace {

TEST(LeafErrorsRetryAfterTest, AbsurdDelaysAreCappedAtADay) {
  const absl::Time now = absl::FromUnixSeconds(1445412480);
  EXPECT_EQ(ParseRetryAfter("999999999999", now), absl::Hours(24));
  EXPECT_EQ(ParseRetryAfter("Fri, 01 Jan 2100 00:00:00 GMT", now), absl::Hours(24));
}

}  // namespace
}  // namespace leafsvc::leaf
