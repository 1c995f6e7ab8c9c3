// Async routes of the HTTP listener: answers from other threads, late or
// repeated answers, peers that leave while their request waits, the bounded
// number of waiting requests, the server's own 503 at the deadline and Stop()
// with requests suspended. Run under ASan too (scripts/asan.sh's list, or
// bazel test --config=asan): a late answer must touch nothing freed.
#include <gtest/gtest.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/httpd/http_server.h"
#include "tests/httpd/raw_peer.h"

namespace leafsvc::httpd {
namespace {

using testing::RawPeer;
using testing::StatusOf;

using Respond = std::function<void(HttpResponse)>;

HttpResponse Text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// Waits for `condition` (polled), up to `wait`; its last value.
bool WaitFor(const std::function<bool()>& condition, absl::Duration wait = absl::Seconds(5)) {
  const absl::Time give_up = absl::Now() + wait;
  while (!condition()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// A listener with an async route /slow whose `respond` callbacks the test
// keeps, a synchronous /ping, and an async /now answering inline.
class AsyncListener {
 public:
  explicit AsyncListener(HttpLimits limits, int max_pending = 64, int max_pending_per_ip = 8) {
    HttpServerOptions o;
    o.name = "test";
    o.listen = "127.0.0.1:0";
    o.limits = limits;
    o.max_pending = max_pending;
    o.max_pending_per_ip = max_pending_per_ip;
    o.extra_headers = {{"X-Frame-Options", "DENY"}};
    o.routes.push_back(
        {"GET", "/ping", 0, [](const HttpRequest&) { return Text(200, "pong"); }, nullptr});
    Route slow{"POST", "/slow", 64, nullptr, nullptr};
    slow.async_handler = [this](const HttpRequest& request, Respond respond) {
      std::lock_guard<std::mutex> lock(mu_);
      bodies_.push_back(request.body);
      waiting_.push_back(std::move(respond));
      cv_.notify_all();
    };
    o.routes.push_back(std::move(slow));
    Route now{"GET", "/now", 0, nullptr, nullptr};
    now.async_handler = [](const HttpRequest& request, Respond respond) {
      respond(Text(200, absl::StrCat("now ", request.peer_ip)));
      respond(Text(500, "second answer"));  // ignored
    };
    o.routes.push_back(std::move(now));
    o.on_refused = [this](absl::string_view reason) {
      std::lock_guard<std::mutex> lock(mu_);
      ++refused_[std::string(reason)];
    };
    auto started = HttpServer::Start(std::move(o));
    EXPECT_TRUE(started.ok()) << started.status();
    if (started.ok()) server_ = *std::move(started);
  }

  HttpServer& server() { return *server_; }
  void Destroy() { server_.reset(); }
  int port() const { return server_->port(); }
  int Refused(const std::string& reason) {
    std::lock_guard<std::mutex> lock(mu_);
    return refused_[reason];
  }
  // The `respond` of the n-th /slow request (0-based), once it arrived.
  Respond Waiting(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(5), [&] { return waiting_.size() > n; });
    return waiting_.size() > n ? waiting_[n] : Respond();
  }
  std::vector<std::string> Bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Respond> waiting_;
  std::vector<std::string> bodies_;
  std::map<std::string, int> refused_;
  std::unique_ptr<HttpServer> server_;
};

HttpLimits Limits(absl::Duration request_timeout = absl::Seconds(10)) {
  HttpLimits l;
  l.max_connections = 32;
  l.max_connections_per_ip = 16;
  l.request_timeout = request_timeout;
  l.idle_timeout = absl::Seconds(10);
  return l;
}

constexpr char kSlow[] = "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";

TEST(HttpServerAsyncTest, AnswerFromAnotherThreadReachesThePeer) {
  AsyncListener l(Limits());
  RawPeer peer(l.port());
  ASSERT_TRUE(peer.Send(kSlow));
  Respond respond = l.Waiting(0);
  ASSERT_TRUE(respond);
  EXPECT_EQ(l.Bodies(), std::vector<std::string>{"hello"});
  EXPECT_TRUE(WaitFor([&] { return l.server().pending() == 1; }));
  // The loop is free while the request waits.
  RawPeer other(l.port());
  other.Send("GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(StatusOf(other.ReadUntilClosed(absl::Seconds(5))), 200);

  std::thread([respond] { respond(Text(201, "answered later")); }).join();
  const std::string raw = peer.ReadUntil("answered later", absl::Seconds(5));
  EXPECT_EQ(StatusOf(raw), 201) << raw;
  EXPECT_NE(raw.find("X-Frame-Options: DENY"), std::string::npos) << raw;
  EXPECT_NE(raw.find("Cache-Control: no-store"), std::string::npos) << raw;
  EXPECT_EQ(l.server().pending(), 0);
  // Keep-alive goes on after an async answer.
  ASSERT_TRUE(peer.Send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(StatusOf(peer.ReadUntil("pong", absl::Seconds(5))), 200);
}

TEST(HttpServerAsyncTest, OnlyTheFirstAnswerCounts) {
  AsyncListener l(Limits());
  RawPeer peer(l.port());
  ASSERT_TRUE(peer.Send("GET /now HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string raw = peer.ReadUntilClosed(absl::Seconds(5));
  EXPECT_EQ(StatusOf(raw), 200) << raw;
  EXPECT_NE(raw.find("now 127.0.0.1"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("second answer"), std::string::npos) << raw;

  RawPeer slow(l.port());
  ASSERT_TRUE(slow.Send(kSlow));
  Respond respond = l.Waiting(0);
  ASSERT_TRUE(respond);
  // Two threads race to answer: exactly one response arrives.
  std::thread a([respond] { respond(Text(200, "from-a")); });
  std::thread b([respond] { respond(Text(200, "from-b")); });
  a.join();
  b.join();
  ASSERT_TRUE(slow.Send("GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string both = slow.ReadUntilClosed(absl::Seconds(5));
  const bool from_a = both.find("from-a") != std::string::npos;
  const bool from_b = both.find("from-b") != std::string::npos;
  EXPECT_NE(from_a, from_b) << both;
  EXPECT_NE(both.find("pong"), std::string::npos) << both;
}

TEST(HttpServerAsyncTest, NoAnswerWithinTheDeadlineIs503AndALateAnswerIsIgnored) {
  AsyncListener l(Limits(absl::Seconds(1)));
  RawPeer peer(l.port());
  const absl::Time start = absl::Now();
  ASSERT_TRUE(peer.Send(kSlow));
  Respond respond = l.Waiting(0);
  ASSERT_TRUE(respond);
  const std::string raw = peer.ReadUntil("\r\n\r\n", absl::Seconds(5));
  EXPECT_EQ(StatusOf(raw), 503) << raw;
  EXPECT_NE(raw.find("Retry-After: 1"), std::string::npos) << raw;
  EXPECT_NE(raw.find("X-Frame-Options: DENY"), std::string::npos) << raw;
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_EQ(l.Refused(kRefusedAnswerTimeout), 1);
  EXPECT_EQ(l.server().pending(), 0);
  respond(Text(200, "too late"));  // nothing to answer any more
  ASSERT_TRUE(peer.Send("GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string rest = peer.ReadUntilClosed(absl::Seconds(5));
  EXPECT_EQ(rest.find("too late"), std::string::npos) << rest;
}

TEST(HttpServerAsyncTest, PeerGoneBeforeTheAnswerBreaksNothing) {
  AsyncListener l(Limits());
  for (int i = 0; i < 5; ++i) {
    auto peer = std::make_unique<RawPeer>(l.port());
    ASSERT_TRUE(peer->Send(kSlow));
    ASSERT_TRUE(l.Waiting(i));
    peer.reset();  // the peer leaves while its request waits
  }
  EXPECT_EQ(l.server().pending(), 5);
  for (int i = 0; i < 5; ++i) {
    Respond respond = l.Waiting(i);
    std::thread([respond] { respond(Text(200, std::string(64 << 10, 'x'))); }).join();
  }
  EXPECT_TRUE(WaitFor([&] { return l.server().pending() == 0; }));
  EXPECT_TRUE(WaitFor([&] { return l.server().connections() == 0; }));
  RawPeer fresh(l.port());
  fresh.Send("GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(StatusOf(fresh.ReadUntilClosed(absl::Seconds(5))), 200);
}

TEST(HttpServerAsyncTest, WaitingRequestsAreBoundedPerAddressAndInAll) {
  AsyncListener l(Limits(), /*max_pending=*/3, /*max_pending_per_ip=*/2);
  std::vector<std::unique_ptr<RawPeer>> peers;
  for (int i = 0; i < 2; ++i) {
    peers.push_back(std::make_unique<RawPeer>(l.port(), "127.0.0.2"));
    ASSERT_TRUE(peers.back()->Send(kSlow));
    ASSERT_TRUE(l.Waiting(i));
  }
  RawPeer third(l.port(), "127.0.0.2");
  ASSERT_TRUE(third.Send(kSlow));
  EXPECT_EQ(StatusOf(third.ReadUntil("\r\n\r\n", absl::Seconds(5))), 503);
  EXPECT_EQ(l.Refused(kRefusedTooManyPending), 1);
  // Another address still gets its share, up to the listener's total.
  RawPeer other(l.port(), "127.0.0.3");
  ASSERT_TRUE(other.Send(kSlow));
  ASSERT_TRUE(l.Waiting(2));
  RawPeer fourth(l.port(), "127.0.0.4");
  ASSERT_TRUE(fourth.Send(kSlow));
  EXPECT_EQ(StatusOf(fourth.ReadUntil("\r\n\r\n", absl::Seconds(5))), 503);
  EXPECT_EQ(l.Refused(kRefusedTooManyPending), 2);
  EXPECT_EQ(l.Bodies().size(), 3u);  // the refused ones never reached the handler
  // An answer frees a place.
  l.Waiting(0)(Text(200, "done"));
  EXPECT_EQ(StatusOf(peers[0]->ReadUntil("done", absl::Seconds(5))), 200);
  RawPeer again(l.port(), "127.0.0.2");
  ASSERT_TRUE(again.Send(kSlow));
  EXPECT_TRUE(l.Waiting(3));
  EXPECT_EQ(l.server().pending(), 3);
}

TEST(HttpServerAsyncTest, StopClosesSuspendedRequestsPromptlyAndLaterAnswersAreHarmless) {
  AsyncListener l(Limits(absl::Seconds(60)));
  std::vector<std::unique_ptr<RawPeer>> peers;
  for (int i = 0; i < 4; ++i) {
    peers.push_back(std::make_unique<RawPeer>(l.port()));
    ASSERT_TRUE(peers.back()->Send(kSlow));
    ASSERT_TRUE(l.Waiting(i));
  }
  // One answered but not yet taken by the loop when Stop() runs, maybe.
  l.Waiting(0)(Text(200, "racing stop"));
  const absl::Time start = absl::Now();
  l.server().Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  for (int i = 1; i < 4; ++i) EXPECT_TRUE(peers[i]->ClosedWithin(absl::Seconds(2)));
  EXPECT_EQ(l.server().pending(), 0);
  // After Stop and after the server is gone, answers do nothing.
  l.Waiting(1)(Text(200, "after stop"));
  l.Destroy();
  std::thread([r = l.Waiting(2)] { r(Text(200, "after destruction")); }).join();
  l.Waiting(3)(Text(200, "after destruction"));
}

TEST(HttpServerAsyncTest, ExtraHeadersGoOnTheListenersOwnRefusals) {
  AsyncListener l(Limits());
  RawPeer peer(l.port());
  ASSERT_TRUE(peer.Send("GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string raw = peer.ReadUntil("\r\n\r\n", absl::Seconds(5));
  EXPECT_EQ(StatusOf(raw), 404) << raw;
  EXPECT_NE(raw.find("X-Frame-Options: DENY"), std::string::npos) << raw;
  RawPeer big(l.port());
  ASSERT_TRUE(big.Send("POST /slow HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  ASSERT_TRUE(big.Send(absl::StrCat("100\r\n", std::string(256, 'a'), "\r\n")));
  const std::string too_large = big.ReadUntil("\r\n\r\n", absl::Seconds(5));
  EXPECT_EQ(StatusOf(too_large), 413) << too_large;
  EXPECT_NE(too_large.find("X-Frame-Options: DENY"), std::string::npos) << too_large;
}

}  // namespace
}  // namespace leafsvc::httpd
