// The HTTP listener against hostile peers: each test plays one attack the
// listener must survive (floods, slow senders, oversized and chunked bodies,
// ambiguous framing) and checks both what the attacker sees and that a
// genuine request is still answered.
#include "server/httpd/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/httpd/raw_peer.h"

namespace leafsvc::httpd {
namespace {

using testing::RawPeer;
using testing::StatusOf;

class Listener {
 public:
  explicit Listener(HttpLimits limits, size_t max_body = 1024,
                    std::string big_response = std::string()) {
    HttpServerOptions o;
    o.name = "test";
    o.listen = "127.0.0.1:0";
    o.limits = limits;
    o.routes.push_back({"GET", "/ping", 0, [big_response](const HttpRequest&) {
                          HttpResponse r;
                          r.body = big_response.empty() ? "pong" : big_response;
                          return r;
                        }});
    o.routes.push_back({"POST", "/hook*", max_body, [this](const HttpRequest& req) {
                          {
                            std::lock_guard<std::mutex> lock(mu_);
                            bodies_.push_back(req.body);
                          }
                          HttpResponse r;
                          r.body = absl::StrCat("got ", req.body.size());
                          return r;
                        }});
    o.on_refused = [this](absl::string_view reason) {
      std::lock_guard<std::mutex> lock(mu_);
      ++refused_[std::string(reason)];
    };
    auto started = HttpServer::Start(std::move(o));
    EXPECT_TRUE(started.ok()) << started.status();
    if (started.ok()) server_ = *std::move(started);
  }

  HttpServer& server() { return *server_; }
  int port() const { return server_->port(); }
  int Refused(const std::string& reason) {
    std::lock_guard<std::mutex> lock(mu_);
    return refused_[reason];
  }
  std::vector<std::string> Bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }

  // A genuine request on a fresh connection: its status (0: no answer).
  int Ping() {
    RawPeer peer(port());
    peer.Send("GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    return StatusOf(peer.ReadUntilClosed(absl::Seconds(5)));
  }

 private:
  std::mutex mu_;
  std::map<std::string, int> refused_;
  std::vector<std::string> bodies_;
  std::unique_ptr<HttpServer> server_;
};

HttpLimits Limits() {
  HttpLimits l;
  l.max_connections = 16;
  l.max_connections_per_ip = 8;
  l.request_timeout = absl::Seconds(2);
  l.idle_timeout = absl::Seconds(5);
  return l;
}

TEST(HttpServerTest, AnswersARouteWithTheDefaultSecurityHeaders) {
  Listener l(Limits());
  RawPeer peer(l.port());
  ASSERT_TRUE(peer.Send("GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string raw = peer.ReadUntilClosed(absl::Seconds(5));
  EXPECT_EQ(StatusOf(raw), 200) << raw;
  EXPECT_NE(raw.find("pong"), std::string::npos);
  EXPECT_NE(raw.find("Cache-Control: no-store"), std::string::npos) << raw;
  EXPECT_NE(raw.find("X-Content-Type-Options: nosniff"), std::string::npos) << raw;
}

TEST(HttpServerTest, UnknownPathIs404AndWrongMethodIs405) {
  Listener l(Limits());
  RawPeer a(l.port());
  a.Send("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(StatusOf(a.ReadUntil("\r\n\r\n", absl::Seconds(5))), 404);
  RawPeer b(l.port());
  b.Send("POST /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(StatusOf(b.ReadUntil("\r\n\r\n", absl::Seconds(5))), 405);
  EXPECT_EQ(l.Refused(kRefusedNotFound), 1);
  EXPECT_EQ(l.Refused(kRefusedMethodNotAllowed), 1);
}

TEST(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Listener l(Limits());
  RawPeer peer(l.port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(peer.Send("POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"));
    const std::string raw = peer.ReadUntil("got 3", absl::Seconds(5));
    EXPECT_EQ(StatusOf(raw), 200) << i << ": " << raw;
  }
  EXPECT_EQ(l.Bodies().size(), 3u);
}

TEST(HttpServerTest, DeclaredBodyOverTheCapIs413BeforeAnyOfItIsRead) {
  Listener l(Limits(), 1024);
  RawPeer peer(l.port());
  ASSERT_TRUE(peer.Send("POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 268435456\r\n\r\n"));
  const std::string raw = peer.ReadUntil("\r\n\r\n", absl::Seconds(5));
  EXPECT_EQ(StatusOf(raw), 413) << raw;
  EXPECT_TRUE(peer.ClosedWithin(absl::Seconds(5)));
  EXPECT_EQ(l.Refused(kRefusedBodyTooLarge), 1);
  EXPECT_TRUE(l.Bodies().empty());
}

TEST(HttpServerTest, ChunkedBodyOverTheCapIs413AsSoonAsTheCapIsPassed) {
  Listener l(Limits(), 1024);
  RawPeer peer(l.port());
  ASSERT_TRUE(peer.Send("POST /hook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  // 4 KiB in one chunk, then the body never ends: a listener that buffers
  // until the end would wait; this one answers at the cap.
  ASSERT_TRUE(peer.Send(absl::StrCat("1000\r\n", std::string(4096, 'a'), "\r\n")));
  const std::string raw = peer.ReadUntil("\r\n\r\n", absl::Seconds(5));
  EXPECT_EQ(StatusOf(raw), 413) << raw;
  EXPECT_TRUE(peer.ClosedWithin(absl::Seconds(5)));
  EXPECT_EQ(l.Refused(kRefusedBodyTooLarge), 1);
  EXPECT_TRUE(l.Bodies().empty());
  EXPECT_EQ(l.Ping(), 200);
}

TEST(HttpServerTest, ChunkedBodyWithinTheCapIsDeliveredWhole) {
  Listener l(Limits(), 1024);
  RawPeer peer(l.port());
  ASSERT_TRUE(peer.Send(
      "POST /hook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  const std::string raw = peer.ReadUntilClosed(absl::Seconds(5));
  EXPECT_EQ(StatusOf(raw), 200) << raw;
  ASSERT_EQ(l.Bodies().size(), 1u);
  EXPECT_EQ(l.Bodies()[0], "hello world");
}

TEST(HttpServerTest, AmbiguousFramingIs400) {
  Listener l(Limits());
  const char* requests[] = {
      "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
      "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
      "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\n",
      "POST /hook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
  };
  for (const char* request : requests) {
    RawPeer peer(l.port());
    ASSERT_TRUE(peer.Send(request));
    const std::string raw = peer.ReadUntilClosed(absl::Seconds(5));
    EXPECT_EQ(StatusOf(raw), 400) << request << "\n---\n" << raw;
  }
  EXPECT_TRUE(l.Bodies().empty());
}

TEST(HttpServerTest, DrippedHeadersAreCutOffAtTheRequestDeadline) {
  HttpLimits limits = Limits();
  limits.request_timeout = absl::Seconds(1);
  limits.idle_timeout = absl::Seconds(30);  // only the whole-request deadline applies
  Listener l(limits);
  RawPeer peer(l.port());
  const absl::Time start = absl::Now();
  const std::string request = "GET /ping HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa";
  bool closed = false;
  for (char c : request) {  // a byte every 100 ms: never idle, never done
    if (!peer.Send(std::string(1, c))) break;
    if (peer.ClosedWithin(absl::Milliseconds(100))) {
      closed = true;
      break;
    }
  }
  if (!closed) closed = peer.ClosedWithin(absl::Seconds(3));
  EXPECT_TRUE(closed);
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));
  EXPECT_EQ(l.Refused(kRefusedRequestTimeout), 1);
  EXPECT_EQ(l.Ping(), 200);
}

TEST(HttpServerTest, SlowlorisOnEverySlotStillLeavesTheListenerAnswering) {
  HttpLimits limits = Limits();
  limits.request_timeout = absl::Seconds(1);
  Listener l(limits);
  // Per-address limit taken by dripping peers, from one address.
  std::vector<std::unique_ptr<RawPeer>> slow;
  for (int i = 0; i < limits.max_connections_per_ip; ++i) {
    slow.push_back(std::make_unique<RawPeer>(l.port(), "127.0.0.2"));
    slow.back()->Send("GET /ping HTTP/1.1\r\nHost: x\r\n");
  }
  // A ninth from that address is refused; a genuine peer elsewhere is not.
  RawPeer extra(l.port(), "127.0.0.2");
  EXPECT_TRUE(extra.ClosedWithin(absl::Seconds(2)));
  EXPECT_GE(l.Refused(kRefusedTooManyConnectionsPerIp), 1);
  EXPECT_EQ(l.Ping(), 200);
  // And the dripping peers are all cut off by the deadline.
  for (auto& p : slow) EXPECT_TRUE(p->ClosedWithin(absl::Seconds(4)));
  EXPECT_EQ(l.Refused(kRefusedRequestTimeout), limits.max_connections_per_ip);
}

TEST(HttpServerTest, ConnectionsBeyondTheLimitAreClosedAtOnce) {
  HttpLimits limits = Limits();
  limits.max_connections = 6;
  limits.max_connections_per_ip = 6;
  limits.request_timeout = absl::Seconds(30);
  limits.idle_timeout = absl::Seconds(30);
  Listener l(limits);
  std::vector<std::unique_ptr<RawPeer>> idle;
  for (int i = 0; i < 6; ++i) {
    idle.push_back(std::make_unique<RawPeer>(l.port(), absl::StrCat("127.0.1.", i + 1)));
  }
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  while (l.server().connections() < 6 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(l.server().connections(), 6);
  RawPeer seventh(l.port(), "127.0.2.1");
  EXPECT_TRUE(seventh.ClosedWithin(absl::Seconds(2)));
  EXPECT_GE(l.Refused(kRefusedTooManyConnections), 1);
  EXPECT_EQ(l.server().connections(), 6);
  // A slot freed is a slot for the next peer.
  idle[0]->Close();
  const absl::Time freed = absl::Now() + absl::Seconds(5);
  while (l.server().connections() > 5 && absl::Now() < freed) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(l.Ping(), 200);
}

TEST(HttpServerTest, IdleKeepAliveConnectionIsClosed) {
  HttpLimits limits = Limits();
  limits.idle_timeout = absl::Seconds(1);
  limits.request_timeout = absl::Seconds(30);
  Listener l(limits);
  RawPeer peer(l.port());
  peer.Send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(StatusOf(peer.ReadUntil("pong", absl::Seconds(5))), 200);
  EXPECT_TRUE(peer.ClosedWithin(absl::Seconds(4)));
}

TEST(HttpServerTest, StopTakesUnderASecondWhateverThePeersDo) {
  HttpLimits limits = Limits();
  limits.request_timeout = absl::Seconds(60);
  limits.idle_timeout = absl::Seconds(60);
  // A response far larger than the socket buffers, to a peer that never reads.
  Listener l(limits, 1024, std::string(32 << 20, 'x'));
  std::vector<std::unique_ptr<RawPeer>> peers;
  for (int i = 0; i < 4; ++i) peers.push_back(std::make_unique<RawPeer>(l.port()));  // idle
  peers.push_back(std::make_unique<RawPeer>(l.port()));
  peers.back()->Send("GET /ping HTTP/1.1\r\nHost: x\r\nX-Half: ");  // never finished
  peers.push_back(std::make_unique<RawPeer>(l.port()));
  peers.back()->Send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n");  // never read
  peers.push_back(std::make_unique<RawPeer>(l.port()));
  peers.back()->Send("POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab");
  absl::SleepFor(absl::Milliseconds(300));
  const int port = l.port();
  const absl::Time start = absl::Now();
  l.server().Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  for (auto& p : peers) EXPECT_TRUE(p->ClosedWithin(absl::Seconds(2)));
  RawPeer after(port);
  EXPECT_FALSE(after.connected()) << "the listening socket is still open";
}

TEST(HttpServerTest, BadListenAddressIsInvalidArgument) {
  HttpServerOptions o;
  o.name = "alerts";
  o.listen = "127.0.0.1";
  EXPECT_EQ(HttpServer::Start(o).status().code(), absl::StatusCode::kInvalidArgument);
  o.listen = "example.com:80";
  EXPECT_EQ(HttpServer::Start(o).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace leafsvc::httpd
