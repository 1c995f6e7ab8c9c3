// A kept-alive connection stays in the transport's epoll set while it idles
// in curl's cache (no epoll_ctl per transfer). When the server closes it
// there, the socket turns readable for good: the loop must drop it from the
// set once, not spin on it, and the next request must still succeed (curl
// finds the connection dead and opens another).
#include <httplib.h>
#include <sys/resource.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/http/curl_http_client.h"
#include "tests/http/http_test_util.h"

namespace leafsvc::http {
namespace {

using ::leafsvc::http::testing::Result;
using ::leafsvc::http::testing::TestServer;

absl::Duration ProcessCpu() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return absl::DurationFromTimeval(usage.ru_utime) + absl::DurationFromTimeval(usage.ru_stime);
}

TEST(IdleConnectionTest, AClosedIdleConnectionCostsNoCpuAndIsReplaced) {
  TestServer<httplib::Server> server;
  server.server().set_keep_alive_timeout(1);  // seconds: closes idle connections
  server.server().Get("/hello", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("hi", "text/plain");
  });
  ASSERT_TRUE(server.Start());
  auto created = CurlHttpClient::Create(CurlHttpClientOptions());
  ASSERT_TRUE(created.ok()) << created.status();
  std::unique_ptr<CurlHttpClient> client = *std::move(created);
  auto get = [&] {
    HttpRequest request;
    request.method = "GET";
    request.url = absl::StrCat("http://127.0.0.1:", server.port(), "/hello");
    Result result;
    client->Send(std::move(request), result.Callback());
    return result.Get();
  };

  for (int round = 0; round < 3; ++round) {
    auto first = get();
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_EQ(first->body, "hi");
    // The server closes the idle connection after 1 s; then nothing happens
    // for a while, and the process should stay idle meanwhile.
    absl::SleepFor(absl::Milliseconds(1500));
    const absl::Duration before = ProcessCpu();
    absl::SleepFor(absl::Milliseconds(500));
    const absl::Duration used = ProcessCpu() - before;
    // A loop spinning on the closed socket would use about the whole 500 ms.
    EXPECT_LT(used, absl::Milliseconds(100)) << "round " << round;
    auto again = get();
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->body, "hi");
  }
  EXPECT_EQ(client->InFlight(), 0u);
  client.reset();
  server.Stop();
}

}  // namespace
}  // namespace leafsvc::http
