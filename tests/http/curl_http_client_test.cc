// CurlHttpClient against a local httplib server: methods, bodies, headers,
// deadlines, cancellation, size limits, pooling and the wait queue. TLS is in
// curl_http_client_tls_test.cc.
#include "server/http/curl_http_client.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/http_client.h"
#include "tests/http/http_test_util.h"

namespace leafsvc::http {
namespace {

using ::leafsvc::http::testing::ClosedPort;
using ::leafsvc::http::testing::kWait;
using ::leafsvc::http::testing::Notification;
using ::leafsvc::http::testing::Result;
using ::leafsvc::http::testing::TestServer;
using ::testing::HasSubstr;

class CurlHttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    httplib::Server& s = server_.server();
    s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response&) {
      std::lock_guard<std::mutex> lock(mu_);
      paths_seen_.push_back(req.path);
      connections_.insert(absl::StrCat(req.remote_addr, ":", req.remote_port));
      return httplib::Server::HandlerResponse::Unhandled;
    });
    s.Get("/hello", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("X-Test", "yes");
      res.set_header("X-Test", "second");
      res.set_content("hi", "text/plain");
    });
    s.Post("/echo", [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        last_request_headers_ = req.headers;
      }
      res.status = 201;
      res.set_content(req.body, "application/octet-stream");
    });
    s.Put("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(absl::StrCat(req.method, " ", req.body), "text/plain");
    });
    s.Delete("/thing", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
    s.Get(R"(/status/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
      res.status = std::atoi(req.matches[1].str().c_str());
      res.set_content("problem", "text/plain");
    });
    s.Get("/slow", [this](const httplib::Request&, httplib::Response& res) {
      slow_entered_.fetch_add(1);
      release_.WaitForNotificationWithTimeout(kWait);
      res.set_content("late", "text/plain");
    });
    s.Get("/big", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(std::string(std::atoi(req.get_param_value("n").c_str()), 'x'), "text/plain");
    });
    s.Get("/chunked", [](const httplib::Request& req, httplib::Response& res) {
      const int n = std::atoi(req.get_param_value("n").c_str());
      res.set_chunked_content_provider("text/plain", [n](size_t offset, httplib::DataSink& sink) {
        if (offset < static_cast<size_t>(n)) {
          std::string chunk(std::min<size_t>(64, n - offset), 'y');
          sink.write(chunk.data(), chunk.size());
        } else {
          sink.done();
        }
        return true;
      });
    });
    ASSERT_TRUE(server_.Start());
    client_ = MakeClient(CurlHttpClientOptions());
  }

  void TearDown() override {
    client_.reset();  // Closes pooled connections before the server stops.
    if (!release_.HasBeenNotified()) release_.Notify();
    server_.Stop();
  }

  std::unique_ptr<CurlHttpClient> MakeClient(CurlHttpClientOptions options) {
    auto client = CurlHttpClient::Create(std::move(options));
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  std::string Url(absl::string_view path) const {
    return absl::StrCat("http://127.0.0.1:", server_.port(), path);
  }

  HttpRequest Get(absl::string_view path) const {
    HttpRequest request;
    request.method = "GET";
    request.url = Url(path);
    return request;
  }

  absl::StatusOr<HttpResponse> SendAndWait(HttpClient& client, HttpRequest request) {
    Result result;
    client.Send(std::move(request), result.Callback());
    return result.Get();
  }

  // Waits until /slow handlers have been entered `n` times.
  bool WaitForSlow(int n) {
    const absl::Time give_up = absl::Now() + kWait;
    while (slow_entered_.load() < n) {
      if (absl::Now() > give_up) return false;
      absl::SleepFor(absl::Milliseconds(1));
    }
    return true;
  }

  std::vector<std::string> PathsSeen() {
    std::lock_guard<std::mutex> lock(mu_);
    return paths_seen_;
  }

  TestServer<httplib::Server> server_;
  std::unique_ptr<CurlHttpClient> client_;
  Notification release_;  // Lets /slow handlers finish.
  std::atomic<int> slow_entered_{0};

  std::mutex mu_;  // Guards the three below.
  std::vector<std::string> paths_seen_;
  std::set<std::string> connections_;
  httplib::Headers last_request_headers_;
};

TEST_F(CurlHttpClientTest, GetReturnsStatusHeadersAndBody) {
  auto response = SendAndWait(*client_, Get("/hello"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status_code, 200);
  EXPECT_EQ(response->body, "hi");
  EXPECT_EQ(response->Header("content-type"), "text/plain");
  EXPECT_EQ(response->Header("x-test"), "yes");
  int x_test = 0;
  for (const auto& [name, value] : response->headers) {
    EXPECT_EQ(name, absl::AsciiStrToLower(name));
    if (name == "x-test") ++x_test;
  }
  EXPECT_EQ(x_test, 2);
  EXPECT_EQ(client_->InFlight(), 0);
}

TEST_F(CurlHttpClientTest, PostSendsBodyAndContentType) {
  HttpRequest request;
  request.method = "POST";
  request.url = Url("/echo");
  request.headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer secret"}};
  request.body = R"({"a":1})";
  auto response = SendAndWait(*client_, request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status_code, 201);
  EXPECT_EQ(response->body, request.body);
  std::lock_guard<std::mutex> lock(mu_);
  auto header = [&](const char* name) {
    auto it = last_request_headers_.find(name);
    return it == last_request_headers_.end() ? std::string("<none>") : it->second;
  };
  EXPECT_EQ(header("Content-Type"), "application/json");
  EXPECT_EQ(header("Content-Length"), "7");
  EXPECT_EQ(header("Authorization"), "Bearer secret");
  EXPECT_EQ(header("Expect"), "<none>");
  EXPECT_EQ(header("User-Agent"), "leaf-agleader-credentials/1");
}

TEST_F(CurlHttpClientTest, PostWithoutContentTypeSendsNone) {
  HttpRequest request;
  request.method = "POST";
  request.url = Url("/echo");
  auto response = SendAndWait(*client_, request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status_code, 201);
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(last_request_headers_.count("Content-Type"), 0);
  ASSERT_EQ(last_request_headers_.count("Content-Length"), 1);
  EXPECT_EQ(last_request_headers_.find("Content-Length")->second, "0");
}

TEST_F(CurlHttpClientTest, PutSendsBodyWithItsMethod) {
  HttpRequest request;
  request.method = "PUT";
  request.url = Url("/echo");
  request.body = "payload";
  auto response = SendAndWait(*client_, request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status_code, 200);
  EXPECT_EQ(response->body, "PUT payload");
}

TEST_F(CurlHttpClientTest, DeleteReturns204WithEmptyBody) {
  HttpRequest request;
  request.method = "DELETE";
  request.url = Url("/thing");
  auto response = SendAndWait(*client_, request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status_code, 204);
  EXPECT_EQ(response->body, "");
}

TEST_F(CurlHttpClientTest, HttpErrorStatusIsATransportSuccess) {
  for (int code : {404, 500}) {
    auto response = SendAndWait(*client_, Get(absl::StrCat("/status/", code)));
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->status_code, code);
    EXPECT_EQ(response->body, "problem");
  }
}

TEST_F(CurlHttpClientTest, ConnectionRefusedIsUnavailableAndNotSent) {
  HttpRequest request = Get("/hello");
  request.url = absl::StrCat("http://127.0.0.1:", ClosedPort(), "/hello");
  auto response = SendAndWait(*client_, request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
  EXPECT_FALSE(MaybeSent(response.status()));
}

TEST_F(CurlHttpClientTest, DeadlineShorterThanHandlerIsDeadlineExceeded) {
  HttpRequest request = Get("/slow");
  const absl::Time start = absl::Now();
  request.deadline = start + absl::Milliseconds(200);
  auto response = SendAndWait(*client_, request);
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded) << response.status();
  EXPECT_TRUE(MaybeSent(response.status()));
  EXPECT_GE(elapsed, absl::Milliseconds(190));
  EXPECT_LT(elapsed, absl::Seconds(2));
  EXPECT_EQ(client_->InFlight(), 0);
}

TEST_F(CurlHttpClientTest, PastDeadlineFailsWithoutSending) {
  HttpRequest request = Get("/hello");
  request.deadline = absl::Now() - absl::Seconds(1);
  auto response = SendAndWait(*client_, request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(MaybeSent(response.status()));
  // A later request is the first one the server sees.
  ASSERT_TRUE(SendAndWait(*client_, Get("/status/200")).ok());
  EXPECT_THAT(PathsSeen(), ::testing::ElementsAre("/status/200"));
}

TEST_F(CurlHttpClientTest, CancelAbortsRunningRequestPromptly) {
  Result result;
  TransferId id = client_->Send(Get("/slow"), result.Callback());
  ASSERT_TRUE(WaitForSlow(1));
  EXPECT_EQ(client_->InFlight(), 1);
  const absl::Time start = absl::Now();
  client_->Cancel(id);
  auto response = result.Get();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kCancelled) << response.status();
  EXPECT_TRUE(MaybeSent(response.status()));
  EXPECT_EQ(client_->InFlight(), 0);
  // Cancelling again, or an unknown id, is a no-op.
  client_->Cancel(id);
  client_->Cancel(987654321);
  EXPECT_TRUE(SendAndWait(*client_, Get("/hello")).ok());
}

TEST_F(CurlHttpClientTest, SendAndCancelFromACallbackEndOnce) {
  // A Send inside a callback starts its transfer on the spot (the loop's
  // lock is free while callbacks run) and may even complete there, when
  // curl's timer runs it to the end; a Cancel right after it then finds it
  // done. Either way its callback runs once: CANCELLED, or the answer.
  Result inner;
  Result outer;
  client_->Send(Get("/status/200"), [&, done = outer.Callback()](absl::StatusOr<HttpResponse> r) {
    TransferId id = client_->Send(Get("/hello"), inner.Callback());
    client_->Cancel(id);
    done(std::move(r));
  });
  ASSERT_TRUE(outer.Get().ok());
  auto response = inner.Get();
  if (response.ok()) {
    EXPECT_EQ(response->body, "hi");
  } else {
    EXPECT_EQ(response.status().code(), absl::StatusCode::kCancelled) << response.status();
  }
  EXPECT_EQ(client_->InFlight(), 0);
  // Cancelling a transfer that already completed changes nothing.
  Result again;
  TransferId done_id = client_->Send(Get("/hello"), again.Callback());
  ASSERT_TRUE(again.Get().ok());
  client_->Cancel(done_id);
  EXPECT_EQ(client_->InFlight(), 0);
}

TEST_F(CurlHttpClientTest, ResponseLargerThanLimitIsResourceExhausted) {
  CurlHttpClientOptions options;
  options.max_response_bytes = 100;
  auto client = MakeClient(options);
  ASSERT_NE(client, nullptr);

  auto at_limit = SendAndWait(*client, Get("/big?n=100"));
  ASSERT_TRUE(at_limit.ok()) << at_limit.status();
  EXPECT_EQ(at_limit->body.size(), 100);

  // Caught by Content-Length, then while streaming a chunked body.
  for (const char* path : {"/big?n=101", "/chunked?n=1000"}) {
    auto response = SendAndWait(*client, Get(path));
    EXPECT_EQ(response.status().code(), absl::StatusCode::kResourceExhausted)
        << path << ": " << response.status();
    EXPECT_THAT(response.status().message(), HasSubstr("upstream response larger than 100 bytes"));
    EXPECT_TRUE(MaybeSent(response.status()));
  }
  auto chunked_ok = SendAndWait(*client, Get("/chunked?n=90"));
  ASSERT_TRUE(chunked_ok.ok()) << chunked_ok.status();
  EXPECT_EQ(chunked_ok->body, std::string(90, 'y'));
}

// A host name goes through libcurl's threaded resolver, whose socket the
// driver watches beside the connections (and which libcurl closes itself):
// each new client resolves afresh, one after another, reusing descriptor
// numbers.
TEST_F(CurlHttpClientTest, HostNamesResolveThroughTheLoop) {
  for (int i = 0; i < 5; ++i) {
    auto client = MakeClient(CurlHttpClientOptions());
    ASSERT_NE(client, nullptr);
    for (int j = 0; j < 3; ++j) {
      HttpRequest request = Get("/hello");
      request.url = absl::StrCat("http://localhost:", server_.port(), "/hello");
      request.fresh_connection = j == 2;
      auto response = SendAndWait(*client, std::move(request));
      ASSERT_TRUE(response.ok()) << "client " << i << ", request " << j << ": "
                                 << response.status();
      EXPECT_EQ(response->body, "hi");
    }
  }
}

TEST_F(CurlHttpClientTest, ConcurrentRequestsReuseFewConnections) {
  CurlHttpClientOptions options;
  options.max_connections_per_host = 4;
  auto client = MakeClient(options);
  ASSERT_NE(client, nullptr);

  constexpr int kRequests = 200;
  for (int wave = 0; wave < 2; ++wave) {
    std::atomic<int> ok{0};
    std::atomic<int> done{0};
    Notification all_done;
    for (int i = 0; i < kRequests; ++i) {
      client->Send(Get("/hello"), [&](absl::StatusOr<HttpResponse> r) {
        if (r.ok() && r->status_code == 200 && r->body == "hi") ++ok;
        if (++done == kRequests) all_done.Notify();
      });
    }
    ASSERT_TRUE(all_done.WaitForNotificationWithTimeout(kWait));
    EXPECT_EQ(ok.load(), kRequests);
  }
  EXPECT_EQ(client->InFlight(), 0);
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_GE(connections_.size(), 1);
  EXPECT_LE(connections_.size(), 4);
}

TEST_F(CurlHttpClientTest, CallbackMaySendAgain) {
  Result second;
  Notification first_done;
  client_->Send(Get("/hello"), [&](absl::StatusOr<HttpResponse> r) {
    EXPECT_TRUE(r.ok());
    client_->Send(Get("/status/404"), second.Callback());
    first_done.Notify();
  });
  ASSERT_TRUE(first_done.WaitForNotificationWithTimeout(kWait));
  auto response = second.Get();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status_code, 404);
}

TEST_F(CurlHttpClientTest, DestructorCancelsInFlightAndQueuedTransfers) {
  constexpr int kSlow = 3;
  std::vector<Result> results(kSlow + 1);
  for (int i = 0; i < kSlow; ++i) {
    client_->Send(Get("/slow"), results[i].Callback());
  }
  ASSERT_TRUE(WaitForSlow(kSlow));
  // Possibly still queued when the destructor runs.
  client_->Send(Get("/slow"), results[kSlow].Callback());
  const absl::Time start = absl::Now();
  client_.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  for (Result& result : results) {
    // Already completed: the destructor waits for the callbacks.
    auto response = result.Get(absl::ZeroDuration());
    EXPECT_EQ(response.status().code(), absl::StatusCode::kCancelled) << response.status();
  }
}

TEST_F(CurlHttpClientTest, InvalidHeaderIsRejectedWithoutLeakingIt) {
  HttpRequest request = Get("/hello");
  request.headers = {{"Authorization", "Bearer secret\r\nX-Evil: 1"}};
  auto response = SendAndWait(*client_, request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(response.status().message()), ::testing::Not(HasSubstr("secret")));
  EXPECT_TRUE(PathsSeen().empty());
}

TEST_F(CurlHttpClientTest, CreateRejectsBadOptions) {
  CurlHttpClientOptions options;
  options.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(CurlHttpClient::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options = CurlHttpClientOptions();
  options.max_connections_per_host = 0;
  EXPECT_EQ(CurlHttpClient::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
}

// Beyond max_connections_per_host, transfers wait in the client's own queue:
// never more requests at the server than the pool, waiting ones can be
// cancelled or time out without ever being sent, and they start in order as
// connections free up.
TEST_F(CurlHttpClientTest, TransfersBeyondThePoolWaitAndCanBeCancelledOrExpire) {
  CurlHttpClientOptions options;
  options.max_connections_per_host = 2;
  std::unique_ptr<CurlHttpClient> client = MakeClient(options);
  std::vector<Result> slow(2);
  for (Result& r : slow) client->Send(Get("/slow"), r.Callback());
  ASSERT_TRUE(WaitForSlow(2));

  Result cancelled, expired, later;
  TransferId waiting = client->Send(Get("/status/201"), cancelled.Callback());
  HttpRequest short_deadline = Get("/status/202");
  short_deadline.deadline = absl::Now() + absl::Milliseconds(100);
  client->Send(std::move(short_deadline), expired.Callback());
  client->Send(Get("/status/203"), later.Callback());
  EXPECT_EQ(client->InFlight(), 5u);

  client->Cancel(waiting);
  auto c = cancelled.Get(absl::Milliseconds(500));
  EXPECT_EQ(c.status().code(), absl::StatusCode::kCancelled) << c.status();
  EXPECT_FALSE(MaybeSent(c.status()));

  auto e = expired.Get(absl::Seconds(1));
  EXPECT_EQ(e.status().code(), absl::StatusCode::kDeadlineExceeded) << e.status();
  EXPECT_FALSE(MaybeSent(e.status()));
  EXPECT_NE(e.status().message().find("free connection"), absl::string_view::npos);

  release_.Notify();
  for (Result& r : slow) EXPECT_TRUE(r.Get().ok());
  auto l = later.Get();
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->status_code, 203);
  const std::vector<std::string> paths = PathsSeen();
  EXPECT_EQ(std::count(paths.begin(), paths.end(), "/status/201"), 0);
  EXPECT_EQ(std::count(paths.begin(), paths.end(), "/status/202"), 0);
  EXPECT_EQ(client->InFlight(), 0u);
}

}  // namespace
}  // namespace leafsvc::http
