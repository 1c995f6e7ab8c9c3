// Unit tests of the server lifecycle (http_server.h) with a trivial handler.
#include "emulator/http_server.h"

#include <httplib.h>

#include <atomic>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace leafemu {
namespace {

class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest()
      : server_(EmulatorOptions(), "/ready",
                [this](const httplib::Request& req, httplib::Response& res) {
                  ++calls_;
                  if (req.path == "/cut") {
                    server_.CutConnection(req, res);
                  } else if (req.path == "/slow") {
                    slept_ = server_.SleepUnlessStopping(absl::Seconds(30));
                    res.status = 200;
                  } else {
                    res.set_content(absl::StrCat(req.method, " ", req.path), "text/plain");
                  }
                }) {}

  std::atomic<int> calls_{0};
  std::atomic<bool> slept_{true};
  HttpServer server_;
};

TEST_F(HttpServerTest, ServesEveryMethodThroughTheHandler) {
  ASSERT_TRUE(server_.Start().ok());
  EXPECT_GT(server_.port(), 0);
  EXPECT_EQ(server_.base_url(), absl::StrCat("http://127.0.0.1:", server_.port()));
  httplib::Client c("127.0.0.1", server_.port());
  EXPECT_EQ(c.Get("/a")->body, "GET /a");
  EXPECT_EQ(c.Put("/b", "", "text/plain")->body, "PUT /b");
  EXPECT_EQ(c.Patch("/c", "", "text/plain")->body, "PATCH /c");
  EXPECT_EQ(c.Delete("/d")->body, "DELETE /d");
  EXPECT_GE(calls_.load(), 5);  // the readiness probe is served too
}

TEST_F(HttpServerTest, SecondServerOnATakenPortFails) {
  ASSERT_TRUE(server_.Start().ok());
  EmulatorOptions o;
  o.port = server_.port();
  HttpServer second(o, "/ready",
                    [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
  EXPECT_TRUE(absl::IsUnavailable(second.Start()));
}

TEST_F(HttpServerTest, BadTlsFilesAreAnInvalidArgument) {
  EmulatorOptions o;
  o.tls_cert_file = "/nonexistent/cert.pem";
  o.tls_key_file = "/nonexistent/key.pem";
  HttpServer tls(o, "/ready", [](const httplib::Request&, httplib::Response&) {});
  EXPECT_TRUE(absl::IsInvalidArgument(tls.Start()));
}

TEST_F(HttpServerTest, CutConnectionGivesTheClientNoAnswer) {
  ASSERT_TRUE(server_.Start().ok());
  httplib::Client c("127.0.0.1", server_.port());
  EXPECT_FALSE(c.Get("/cut"));
  EXPECT_TRUE(c.Get("/still-serving"));
}

TEST_F(HttpServerTest, StopEndsSleepsAndIdleKeepAlives) {
  ASSERT_TRUE(server_.Start().ok());
  std::thread slow([this] { httplib::Client("127.0.0.1", server_.port()).Get("/slow"); });
  absl::SleepFor(absl::Milliseconds(100));
  httplib::Client keep_alive("127.0.0.1", server_.port());
  keep_alive.set_keep_alive(true);
  ASSERT_TRUE(keep_alive.Get("/idle"));
  absl::Time start = absl::Now();
  server_.Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_TRUE(server_.stopping());
  slow.join();
  EXPECT_FALSE(slept_.load());
  server_.Stop();  // idempotent
}

}  // namespace
}  // namespace leafemu
