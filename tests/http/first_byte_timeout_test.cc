// The first-byte limit on reused connections: a keep-alive connection that
// went silent is abandoned with kNoAnswerPayload within the limit; a new
// connection is never cut by it, nor is a transfer that asked for a fresh
// connection.
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/http/curl_http_client.h"
#include "tests/http/http_test_util.h"
#include "tests/http/silent_upstream.h"

namespace leafsvc::http {
namespace {

using testing::Result;
using testing::SilentUpstream;

HttpRequest Get(int port, absl::Duration first_byte, absl::Duration deadline) {
  HttpRequest r;
  r.method = "GET";
  r.url = "http://127.0.0.1:" + std::to_string(port) + "/x";
  r.deadline = absl::Now() + deadline;
  r.first_byte_timeout = first_byte;
  return r;
}

std::unique_ptr<CurlHttpClient> Client() {
  CurlHttpClientOptions o;
  o.max_connections_per_host = 1;  // one connection: the second GET reuses it
  auto c = CurlHttpClient::Create(o);
  EXPECT_TRUE(c.ok()) << c.status();
  return *std::move(c);
}

TEST(FirstByteTimeoutTest, ASilentReusedConnectionIsAbandonedWithinTheLimit) {
  SilentUpstream upstream("{}");
  ASSERT_TRUE(upstream.Start());
  auto client = Client();
  Result first;
  client->Send(Get(upstream.port(), absl::Milliseconds(300), absl::Seconds(10)), first.Callback());
  ASSERT_TRUE(first.Get().ok());

  Result second;
  const absl::Time start = absl::Now();
  client->Send(Get(upstream.port(), absl::Milliseconds(300), absl::Seconds(10)), second.Callback());
  absl::StatusOr<HttpResponse> r = second.Get();
  const absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(r.status().GetPayload(kNoAnswerPayload).has_value());
  EXPECT_TRUE(MaybeSent(r.status()));
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Seconds(3));
  EXPECT_EQ(upstream.ignored(), 1);

  // The abandoned connection is closed: the next request gets a new one.
  Result third;
  client->Send(Get(upstream.port(), absl::Milliseconds(300), absl::Seconds(10)), third.Callback());
  EXPECT_TRUE(third.Get().ok());
  EXPECT_EQ(upstream.connections(), 2);
  EXPECT_EQ(client->InFlight(), 0u);
}

TEST(FirstByteTimeoutTest, AFreshConnectionIsNeverCutByIt) {
  SilentUpstream upstream("{}");
  ASSERT_TRUE(upstream.Start());
  auto client = Client();
  Result first;
  client->Send(Get(upstream.port(), absl::Milliseconds(300), absl::Seconds(10)), first.Callback());
  ASSERT_TRUE(first.Get().ok());
  // Asked for a new connection: answered (the upstream answers the first
  // request on every connection) even though the limit is short.
  HttpRequest fresh = Get(upstream.port(), absl::Milliseconds(1), absl::Seconds(10));
  fresh.fresh_connection = true;
  Result second;
  client->Send(fresh, second.Callback());
  EXPECT_TRUE(second.Get().ok());
}

TEST(FirstByteTimeoutTest, WithoutALimitOnlyTheDeadlineEndsASilentConnection) {
  SilentUpstream upstream("{}");
  ASSERT_TRUE(upstream.Start());
  auto client = Client();
  Result first;
  client->Send(Get(upstream.port(), absl::InfiniteDuration(), absl::Seconds(10)), first.Callback());
  ASSERT_TRUE(first.Get().ok());
  Result second;
  client->Send(Get(upstream.port(), absl::InfiniteDuration(), absl::Milliseconds(800)),
               second.Callback());
  absl::StatusOr<HttpResponse> r = second.Get();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(r.status().GetPayload(kNoAnswerPayload).has_value());
}

}  // namespace
}  // namespace leafsvc::http
