#include "server/http/curl_error.h"

#include <curl/curl.h>

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/http_client.h"

namespace leafsvc::http {
namespace {

using ::testing::HasSubstr;

struct Case {
  CURLcode code;
  bool may_have_been_sent;
  absl::StatusCode want_code;
  bool want_maybe_sent;
  const char* want_message;
};

TEST(MapCurlErrorTest, CodesAndMaybeSentFollowTheTransportContract) {
  const Case cases[] = {
      {CURLE_COULDNT_CONNECT, false, absl::StatusCode::kUnavailable, false,
       "cannot connect to upstream"},
      {CURLE_COULDNT_RESOLVE_HOST, false, absl::StatusCode::kUnavailable, false,
       "cannot connect to upstream"},
      {CURLE_PEER_FAILED_VERIFICATION, true, absl::StatusCode::kUnavailable, false,
       "upstream TLS handshake failed"},
      {CURLE_SSL_CONNECT_ERROR, false, absl::StatusCode::kUnavailable, false,
       "upstream TLS handshake failed"},
      {CURLE_OPERATION_TIMEDOUT, false, absl::StatusCode::kDeadlineExceeded, false,
       "timed out before it was sent"},
      {CURLE_OPERATION_TIMEDOUT, true, absl::StatusCode::kDeadlineExceeded, true,
       "upstream request timed out: "},
      {CURLE_SEND_ERROR, false, absl::StatusCode::kUnavailable, true,
       "upstream connection failed mid-request"},
      {CURLE_RECV_ERROR, false, absl::StatusCode::kUnavailable, true, "mid-request"},
      {CURLE_GOT_NOTHING, false, absl::StatusCode::kUnavailable, true, "mid-request"},
      {CURLE_PARTIAL_FILE, false, absl::StatusCode::kUnavailable, true, "mid-request"},
      {CURLE_URL_MALFORMAT, false, absl::StatusCode::kInternal, false, "bad upstream URL"},
      {CURLE_UNSUPPORTED_PROTOCOL, false, absl::StatusCode::kInternal, false, "bad upstream URL"},
      // Not ours to explain: assume the worst.
      {CURLE_WRITE_ERROR, false, absl::StatusCode::kInternal, true,
       "upstream transfer failed (curl 23)"},
      {CURLE_OUT_OF_MEMORY, false, absl::StatusCode::kInternal, true,
       "upstream transfer failed (curl 27)"},
  };
  for (const Case& c : cases) {
    CurlErrorContext context;
    context.may_have_been_sent = c.may_have_been_sent;
    absl::Status status = MapCurlError(c.code, context);
    EXPECT_EQ(status.code(), c.want_code) << c.code << ": " << status;
    EXPECT_EQ(MaybeSent(status), c.want_maybe_sent) << c.code << ": " << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.want_message)) << c.code;
  }
}

TEST(MapCurlErrorTest, ResponseOverTheLimitIsResourceExhaustedAndMaybeSent) {
  CurlErrorContext context;
  context.too_large = true;
  context.max_response_bytes = 100;
  absl::Status status = MapCurlError(CURLE_WRITE_ERROR, context);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "upstream response larger than 100 bytes");
  EXPECT_TRUE(MaybeSent(status));
}

TEST(MapCurlErrorTest, DetailIsTheErrorBufferElseCurlsTextWithoutTrailingSpace) {
  CurlErrorContext context;
  context.error_buffer = "Failed to connect to 127.0.0.1 port 1 \n";
  EXPECT_EQ(MapCurlError(CURLE_COULDNT_CONNECT, context).message(),
            "cannot connect to upstream: Failed to connect to 127.0.0.1 port 1");
  context.error_buffer = "";
  EXPECT_EQ(
      MapCurlError(CURLE_COULDNT_CONNECT, context).message(),
      std::string("cannot connect to upstream: ") + curl_easy_strerror(CURLE_COULDNT_CONNECT));
}

TEST(CancelledStatusTest, MarksMaybeSentOnlyForAStartedTransfer) {
  EXPECT_EQ(CancelledStatus().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(CancelledStatus().message(), "upstream request cancelled");
  EXPECT_FALSE(MaybeSent(CancelledStatus()));
  EXPECT_FALSE(MaybeSent(CancelledStatus(false)));
  EXPECT_TRUE(MaybeSent(CancelledStatus(true)));
  EXPECT_EQ(CancelledStatus(true).code(), absl::StatusCode::kCancelled);
}

TEST(WithMaybeSentTest, KeepsCodeAndMessage) {
  absl::Status status = WithMaybeSent(absl::UnavailableError("x"));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "x");
  EXPECT_TRUE(MaybeSent(status));
}

TEST(MayHaveBeenSentTest, UnusedHandleHasNotSentAnything) {
  ASSERT_EQ(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
  CURL* easy = curl_easy_init();
  ASSERT_NE(easy, nullptr);
  EXPECT_FALSE(MayHaveBeenSent(easy));
  curl_easy_cleanup(easy);
  curl_global_cleanup();
}

}  // namespace
}  // namespace leafsvc::http
