// The grower's pages through the real HTTP listener, with a fake flow: the
// security headers on every answer, the CSRF double-submit and same-origin
// checks, escaping, query values never echoed, the 303s and their cookies,
// rate limits (429), answers from another thread and a peer that leaves
// before its answer.
#include "server/connect/connect_pages.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "server/errors/reasons.h"
#include "tests/connect/connect_pages_fake_flow.h"
#include "tests/httpd/raw_peer.h"

namespace leafsvc::connect {
namespace {

using httpd::testing::RawPeer;
using httpd::testing::StatusOf;

using testing::FakeFlow;
using testing::kNow;

struct Answer {
  int status = 0;
  std::string raw;  // status line and headers
  std::string body;
  std::vector<std::string> Headers(absl::string_view name) const {
    std::vector<std::string> values;
    for (absl::string_view line : absl::StrSplit(raw, "\r\n")) {
      const size_t colon = line.find(':');
      if (colon != absl::string_view::npos && absl::EqualsIgnoreCase(line.substr(0, colon), name)) {
        values.emplace_back(absl::StripAsciiWhitespace(line.substr(colon + 1)));
      }
    }
    return values;
  }
  std::string Header(absl::string_view name) const {
    auto v = Headers(name);
    return v.empty() ? "" : v[0];
  }
};

class ConnectPagesTest : public ::testing::Test {
 protected:
  void Start(ConnectPagesOptions o = Defaults()) {
    o.clock = [] { return kNow; };
    o.on_refused = [this](absl::string_view r) {
      std::lock_guard<std::mutex> lock(mu_);
      ++refused_[std::string(r)];
    };
    o.rate_limits.clock = [] { return kNow; };
    httpd::HttpServerOptions h;
    h.name = "connect";
    h.listen = "127.0.0.1:0";
    h.extra_headers = ConnectSecurityHeaders(o);
    h.routes = ConnectRoutes(o, &flow_);
    auto started = httpd::HttpServer::Start(std::move(h));
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = *std::move(started);
  }
  static ConnectPagesOptions Defaults() {
    ConnectPagesOptions o;
    o.display_name = "Acme <script>alert(1)</script>";
    o.public_url = "https://connect.test";
    o.authorize_origin = "https://agfiniti.test";
    return o;
  }
  void TearDown() override {
    server_.reset();
    flow_.JoinAll();
  }

  ConnectLink Link(const std::string& id, LinkState state = LinkState::kPending) {
    ConnectLink l;
    l.id = id;
    l.leaf_user_id = "0f1e2d3c-aaaa-bbbb-cccc-9c8b7a6f5e4d";
    l.state = state;
    l.create_time = kNow - absl::Hours(1);
    l.expire_time = kNow + absl::Hours(24);
    return l;
  }

  Answer Send(const std::string& request, const std::string& source = "") {
    RawPeer peer(server_->port(), source);
    peer.Send(request);
    const std::string raw = peer.ReadUntilClosed(absl::Seconds(5));
    Answer a;
    a.status = StatusOf(raw);
    const size_t end = raw.find("\r\n\r\n");
    a.raw = raw.substr(0, end);
    if (end != std::string::npos) a.body = raw.substr(end + 4);
    return a;
  }
  Answer Get(const std::string& path, const std::string& extra = "",
             const std::string& source = "") {
    return Send(absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: connect.test\r\n", extra,
                             "Connection: close\r\n\r\n"),
                source);
  }
  Answer Post(const std::string& path, const std::string& body, const std::string& extra) {
    return Send(absl::StrCat("POST ", path,
                             " HTTP/1.1\r\nHost: connect.test\r\nContent-Type: "
                             "application/x-www-form-urlencoded\r\nContent-Length: ",
                             body.size(), "\r\n", extra, "Connection: close\r\n\r\n", body));
  }
  // The CSRF token of a fresh landing page (cookie and field agree).
  std::string Token(const std::string& id) {
    const Answer a = Get("/connect/" + id);
    const std::string cookie = a.Header("Set-Cookie");
    const size_t eq = cookie.find('=');
    const size_t semi = cookie.find(';');
    if (eq == std::string::npos || semi == std::string::npos) return "";
    return cookie.substr(eq + 1, semi - eq - 1);
  }
  int Refused(const std::string& r) {
    std::lock_guard<std::mutex> lock(mu_);
    return refused_[r];
  }

  static void ExpectSecurityHeaders(const Answer& a) {
    EXPECT_EQ(a.Header("Cache-Control"), "no-store") << a.raw;
    EXPECT_EQ(a.Header("Referrer-Policy"), "no-referrer") << a.raw;
    EXPECT_EQ(a.Header("X-Content-Type-Options"), "nosniff") << a.raw;
    EXPECT_EQ(a.Header("X-Frame-Options"), "DENY") << a.raw;
    const std::string csp = a.Header("Content-Security-Policy");
    EXPECT_TRUE(absl::StartsWith(csp, "default-src 'none'; style-src 'sha256-")) << csp;
    EXPECT_TRUE(absl::StrContains(csp, "form-action 'self' https://agfiniti.test;")) << csp;
    EXPECT_TRUE(absl::StrContains(csp, "frame-ancestors 'none'")) << csp;
    EXPECT_TRUE(absl::StrContains(csp, "base-uri 'none'")) << csp;
    EXPECT_FALSE(absl::StrContains(csp, "script")) << csp;
    EXPECT_EQ(a.Headers("Content-Security-Policy").size(), 1u) << a.raw;
  }

  FakeFlow flow_;  // outlives the server
  std::unique_ptr<httpd::HttpServer> server_;
  std::mutex mu_;
  std::map<std::string, int> refused_;
};

TEST_F(ConnectPagesTest, LandingPageHasTheFormTheCookieAndTheHeaders) {
  Start();
  flow_.Add(Link("L1"));
  const Answer a = Get("/connect/L1");
  ASSERT_EQ(a.status, 200) << a.raw;
  ExpectSecurityHeaders(a);
  EXPECT_TRUE(absl::StartsWith(a.Header("Content-Type"), "text/html"));
  EXPECT_FALSE(absl::StrContains(a.body, "<script")) << a.body;
  EXPECT_TRUE(absl::StrContains(a.body, "Acme &lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_TRUE(absl::StrContains(a.body, "<button id=\"connect\""));
  EXPECT_TRUE(absl::StrContains(a.body, "<form method=\"post\" action=\"/connect/L1\">"));
  EXPECT_FALSE(absl::StrContains(a.body, "0f1e2d3c-aaaa-bbbb-cccc-9c8b7a6f5e4d"));
  const std::string cookie = a.Header("Set-Cookie");
  EXPECT_TRUE(absl::StartsWith(cookie, "connect_csrf=")) << cookie;
  EXPECT_TRUE(absl::StrContains(cookie, "; Path=/connect/;")) << cookie;
  EXPECT_TRUE(absl::StrContains(cookie, "; HttpOnly")) << cookie;
  EXPECT_TRUE(absl::StrContains(cookie, "; SameSite=Strict")) << cookie;
  EXPECT_TRUE(absl::StrContains(cookie, "; Secure")) << cookie;
  const std::string token = Token("L1");
  EXPECT_GE(token.size(), 40u);
  EXPECT_NE(token, Token("L1")) << "a fresh token per page";
}

TEST_F(ConnectPagesTest, LinkStatesOtherThanOpenShowNoForm) {
  Start();
  flow_.Add(Link("done1", LinkState::kConnected));
  ConnectLink old = Link("old1", LinkState::kDenied);
  old.expire_time = kNow - absl::Seconds(1);
  flow_.Add(old);
  flow_.Add(Link("denied1", LinkState::kDenied));
  const Answer connected = Get("/connect/done1");
  EXPECT_EQ(connected.status, 200);
  EXPECT_TRUE(absl::StrContains(connected.body, "already connected")) << connected.body;
  EXPECT_FALSE(absl::StrContains(connected.body, "<form"));
  const Answer expired = Get("/connect/old1");
  EXPECT_EQ(expired.status, 410);
  EXPECT_TRUE(absl::StrContains(expired.body, "expired")) << expired.body;
  EXPECT_TRUE(absl::StrContains(expired.body, "new one"));
  EXPECT_FALSE(absl::StrContains(expired.body, "<form"));
  ExpectSecurityHeaders(expired);
  const Answer denied = Get("/connect/denied1");
  EXPECT_EQ(denied.status, 200);
  EXPECT_TRUE(absl::StrContains(denied.body, "<button id=\"connect\""));
  for (const char* path :
       {"/connect/nope", "/connect/%3Cscript%3E", "/connect/a/b", "/connect/", "/elsewhere"}) {
    const Answer missing = Get(path);
    EXPECT_EQ(missing.status, 404) << path;
    ExpectSecurityHeaders(missing);
    EXPECT_FALSE(absl::StrContains(missing.body, "<script")) << path;
  }
}

TEST_F(ConnectPagesTest, ButtonWithoutTheRightTokenOrFromElsewhereIsRefused) {
  Start();
  flow_.Add(Link("L1"));
  const std::string token = Token("L1");
  ASSERT_FALSE(token.empty());
  const std::string cookie = absl::StrCat("Cookie: connect_csrf=", token, "\r\n");
  struct Case {
    const char* what;
    std::string body;
    std::string headers;
  };
  const std::vector<Case> cases = {
      {"no cookie", "csrf=" + token, ""},
      {"no field", "other=1", cookie},
      {"wrong field", "csrf=" + token.substr(1) + "A", cookie},
      {"field twice", absl::StrCat("csrf=", token, "&csrf=", token), cookie},
      {"cross-site origin", "csrf=" + token, cookie + "Origin: https://evil.test\r\n"},
      {"null origin", "csrf=" + token, cookie + "Origin: null\r\n"},
      {"cross-site fetch", "csrf=" + token, cookie + "Sec-Fetch-Site: cross-site\r\n"},
      {"same-site fetch", "csrf=" + token, cookie + "Sec-Fetch-Site: same-site\r\n"},
  };
  for (const Case& c : cases) {
    const Answer a = Post("/connect/L1", c.body, c.headers);
    EXPECT_EQ(a.status, 403) << c.what << "\n" << a.raw;
    ExpectSecurityHeaders(a);
    EXPECT_TRUE(a.Header("Location").empty()) << c.what;
  }
  EXPECT_EQ(Refused(kRefusedCsrf), 4);
  EXPECT_EQ(Refused(kRefusedCrossSite), 4);
  EXPECT_EQ(flow_.Starts(), 0);
}

// Chromium posts our form with "Origin: null" (the page's Referrer-Policy is
// no-referrer) and "Sec-Fetch-Site: same-origin": that is the grower's own
// click and must pass (it did not, before: the real browser was refused).
TEST_F(ConnectPagesTest, ButtonFromThePageItselfWithANullOriginPasses) {
  Start();
  flow_.Add(Link("L1"));
  const std::string token = Token("L1");
  ASSERT_FALSE(token.empty());
  const Answer a = Post("/connect/L1", "csrf=" + token,
                        absl::StrCat("Cookie: connect_csrf=", token,
                                     "\r\nOrigin: null\r\nSec-Fetch-Site: same-origin\r\n"));
  EXPECT_EQ(a.status, 303) << a.raw;
  EXPECT_EQ(flow_.Starts(), 1);
}

TEST_F(ConnectPagesTest, ButtonStartsTheAttemptAndSendsTheBrowserToAgfiniti) {
  Start();
  flow_.Add(Link("L1"));
  const std::string token = Token("L1");
  const Answer a = Post("/connect/L1", "csrf=" + token,
                        absl::StrCat("Cookie: other=1; connect_csrf=", token,
                                     "\r\nOrigin: https://connect.test\r\n"
                                     "Sec-Fetch-Site: same-origin\r\n"));
  ASSERT_EQ(a.status, 303) << a.raw << a.body;
  ExpectSecurityHeaders(a);
  EXPECT_EQ(a.Header("Location"), "https://agfiniti.test/Account/Authorize?state=S-L1");
  const std::string cookie = a.Header("Set-Cookie");
  EXPECT_EQ(cookie,
            "connect_attempt=binding-L1; Path=/agleader/callback; Max-Age=900; HttpOnly; "
            "SameSite=Lax; Secure");
  EXPECT_EQ(flow_.Starts(), 1);
}

TEST_F(ConnectPagesTest, PlainHttpPublicUrlWithAPathPrefixesPathsAndDropsSecure) {
  ConnectPagesOptions o = Defaults();
  o.public_url = "http://127.0.0.1:8080/leaf/";
  Start(o);
  flow_.Add(Link("L1"));
  const Answer page = Get("/connect/L1");
  EXPECT_TRUE(absl::StrContains(page.body, "action=\"/leaf/connect/L1\""));
  EXPECT_TRUE(absl::StrContains(page.Header("Set-Cookie"), "Path=/leaf/connect/;"));
  EXPECT_FALSE(absl::StrContains(page.Header("Set-Cookie"), "Secure"));
  const std::string token = Token("L1");
  const Answer cross =
      Post("/connect/L1", "csrf=" + token,
           absl::StrCat("Cookie: connect_csrf=", token, "\r\nOrigin: http://127.0.0.1:9999\r\n"));
  EXPECT_EQ(cross.status, 403);
  const Answer a =
      Post("/connect/L1", "csrf=" + token,
           absl::StrCat("Cookie: connect_csrf=", token, "\r\nOrigin: http://127.0.0.1:8080\r\n"));
  ASSERT_EQ(a.status, 303) << a.raw;
  EXPECT_TRUE(absl::StrContains(a.Header("Set-Cookie"), "Path=/leaf/agleader/callback;"));
  const Answer cb =
      Get("/agleader/callback?code=c&state=S-L1", "Cookie: connect_attempt=binding-L1\r\n");
  EXPECT_EQ(cb.Header("Location"), "http://127.0.0.1:8080/leaf/connect/L1/done");
}

TEST_F(ConnectPagesTest, ButtonOnAnExpiredOrConnectedLinkSaysSo) {
  Start();
  ConnectLink old = Link("old1");
  old.expire_time = kNow - absl::Seconds(1);
  flow_.Add(old);
  flow_.Add(Link("done1", LinkState::kConnected));
  flow_.Add(Link("open1"));
  // The token is the browser's, not the link's: one from any landing page.
  const std::string token = Token("open1");
  ASSERT_FALSE(token.empty());
  const Answer expired =
      Post("/connect/old1", "csrf=" + token, absl::StrCat("Cookie: connect_csrf=", token, "\r\n"));
  EXPECT_EQ(expired.status, 410) << expired.raw;
  EXPECT_TRUE(absl::StrContains(expired.body, "expired"));
  const Answer used =
      Post("/connect/done1", "csrf=" + token, absl::StrCat("Cookie: connect_csrf=", token, "\r\n"));
  EXPECT_TRUE(absl::StrContains(used.body, "already connected")) << used.body;
  EXPECT_TRUE(used.Header("Location").empty());
}

TEST_F(ConnectPagesTest, CallbackCompletesAndRedirectsWithoutTheCode) {
  Start();
  flow_.Add(Link("L1"));
  const Answer a = Get("/agleader/callback?code=CODE-SECRET-123&state=S-L1",
                       "Cookie: connect_attempt=binding-L1\r\n");
  ASSERT_EQ(a.status, 303) << a.raw << a.body;
  ExpectSecurityHeaders(a);
  EXPECT_EQ(a.Header("Location"), "https://connect.test/connect/L1/done");
  EXPECT_EQ(a.Header("Set-Cookie"),
            "connect_attempt=; Path=/agleader/callback; Max-Age=0; HttpOnly; SameSite=Lax; "
            "Secure");
  EXPECT_FALSE(absl::StrContains(a.raw + a.body, "CODE-SECRET-123"));
  const std::vector<CallbackParams> seen = flow_.Completes();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].code, "CODE-SECRET-123");
  EXPECT_EQ(seen[0].state, "S-L1");
  EXPECT_EQ(seen[0].browser_binding, "binding-L1");
  EXPECT_TRUE(seen[0].error.empty());
}

TEST_F(ConnectPagesTest, BadOrReplayedCallbackIs400AndEchoesNothing) {
  Start();
  flow_.Add(Link("L1"));
  // From another browser (no binding), or a tampered state: the flow refuses.
  const Answer other = Get("/agleader/callback?code=CODE-XYZ-777&state=S-L1");
  EXPECT_EQ(other.status, 400) << other.raw;
  EXPECT_TRUE(absl::StrContains(other.body, "already used or is not valid"));
  ExpectSecurityHeaders(other);
  const Answer hostile =
      Get("/agleader/callback?code=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state=%3Cb%3EMARK-STATE",
          "Cookie: connect_attempt=binding-L1\r\n");
  EXPECT_EQ(hostile.status, 400);
  for (const Answer& a : {other, hostile}) {
    const std::string all = a.raw + a.body;
    EXPECT_FALSE(absl::StrContains(all, "CODE-XYZ-777"));
    EXPECT_FALSE(absl::StrContains(all, "MARK-STATE"));
    EXPECT_FALSE(absl::StrContains(all, "<script"));
    EXPECT_FALSE(absl::StrContains(all, "&lt;b&gt;"));
  }
  EXPECT_EQ(Refused(kRefusedStateInvalid), 2);
  // Missing or repeated parameters never reach the flow.
  const size_t before = flow_.Completes().size();
  for (const char* q : {"", "?code=abc", "?state=S-L1", "?state=&code=abc",
                        "?state=S-L1&state=S-L2&code=abc", "?state=S-L1&code=a&code=b"}) {
    const Answer a =
        Get(absl::StrCat("/agleader/callback", q), "Cookie: connect_attempt=binding-L1\r\n");
    EXPECT_EQ(a.status, 400) << q;
    ExpectSecurityHeaders(a);
    EXPECT_FALSE(absl::StrContains(a.raw + a.body, "abc")) << q;
  }
  EXPECT_EQ(flow_.Completes().size(), before);
  EXPECT_EQ(Refused(kRefusedBadCallback), 6);
}

TEST_F(ConnectPagesTest, DeniedCallbackLeadsToTheDeclinedPage) {
  Start();
  flow_.Add(Link("L1"));
  const Answer a = Get("/agleader/callback?error=access_denied&state=S-L1",
                       "Cookie: connect_attempt=binding-L1\r\n");
  ASSERT_EQ(a.status, 303) << a.raw;
  EXPECT_EQ(flow_.Completes().at(0).error, "access_denied");
  flow_.Add(Link("L1", LinkState::kDenied));
  const Answer done = Get("/connect/L1/done");
  EXPECT_EQ(done.status, 200);
  EXPECT_TRUE(absl::StrContains(done.body, "You declined"));
  EXPECT_TRUE(absl::StrContains(done.body, "open the link again"));
}

TEST_F(ConnectPagesTest, ResultPageSaysWhatHappenedAndLeadsBack) {
  Start();
  ConnectLink ok = Link("ok1", LinkState::kConnected);
  ok.return_url = "https://app.example/back?x=1";
  flow_.Add(ok);
  ConnectLink failed = Link("bad1", LinkState::kFailed);
  failed.error_reason = "AGFINITI_UNAVAILABLE";
  flow_.Add(failed);
  ConnectLink foreign = Link("js1", LinkState::kConnected);
  foreign.return_url = "javascript:alert(1)";
  flow_.Add(foreign);
  const Answer a = Get("/connect/ok1/done");
  ASSERT_EQ(a.status, 200);
  ExpectSecurityHeaders(a);
  EXPECT_TRUE(absl::StrContains(a.body, "You can close this page"));
  const std::string back = "https://app.example/back?x=1&amp;connect_link=ok1&amp;state=CONNECTED";
  EXPECT_TRUE(absl::StrContains(a.body, absl::StrCat("content=\"2;url=", back, "\""))) << a.body;
  EXPECT_TRUE(absl::StrContains(a.body, absl::StrCat("href=\"", back, "\">Continue")));
  const Answer f = Get("/connect/bad1/done");
  EXPECT_TRUE(absl::StrContains(f.body, "AgFiniti could not be reached"));
  EXPECT_FALSE(absl::StrContains(f.body, "http-equiv"));
  const Answer j = Get("/connect/js1/done");
  EXPECT_FALSE(absl::StrContains(j.body, "javascript")) << j.body;
  EXPECT_EQ(Get("/connect/none1/done").status, 404);
}

TEST_F(ConnectPagesTest, TooManyRequestsFromOneSourceOrForOneLinkAre429) {
  ConnectPagesOptions o = Defaults();
  o.rate_limits.per_source_per_minute = 5;
  o.rate_limits.per_link_per_minute = 8;
  Start(o);
  flow_.Add(Link("L1"));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Get("/connect/L1", "", "127.0.0.2").status, 200) << i;
  const Answer limited = Get("/connect/L1", "", "127.0.0.2");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.Header("Retry-After"), "12");
  ExpectSecurityHeaders(limited);
  EXPECT_TRUE(absl::StrContains(limited.body, "Too many tries"));
  // The callback is limited by source too.
  EXPECT_EQ(Get("/agleader/callback?code=a&state=S-L1", "", "127.0.0.2").status, 429);
  // Other sources, same link: the link's bucket (8) runs out.
  EXPECT_EQ(Get("/connect/L1", "", "127.0.0.3").status, 200);
  EXPECT_EQ(Get("/connect/L1", "", "127.0.0.3").status, 200);
  EXPECT_EQ(Get("/connect/L1", "", "127.0.0.3").status, 200);
  EXPECT_EQ(Get("/connect/L1", "", "127.0.0.4").status, 429);
  // Another link from a fresh source is unaffected.
  EXPECT_EQ(Get("/connect/other", "", "127.0.0.5").status, 404);
}

TEST_F(ConnectPagesTest, AnswersFromAnotherThreadReachTheBrowser) {
  Start();
  flow_.set_mode(FakeFlow::Mode::kThread);
  flow_.Add(Link("L1"));
  const std::string token = Token("L1");
  ASSERT_FALSE(token.empty());
  const Answer a =
      Post("/connect/L1", "csrf=" + token, absl::StrCat("Cookie: connect_csrf=", token, "\r\n"));
  EXPECT_EQ(a.status, 303) << a.raw;
  const Answer cb =
      Get("/agleader/callback?code=c&state=S-L1", "Cookie: connect_attempt=binding-L1\r\n");
  EXPECT_EQ(cb.status, 303) << cb.raw;
}

TEST_F(ConnectPagesTest, PeerGoneBeforeTheAnswerBreaksNothing) {
  Start();
  flow_.set_mode(FakeFlow::Mode::kHold);
  flow_.Add(Link("L1"));
  for (int i = 0; i < 3; ++i) {
    RawPeer peer(server_->port());
    peer.Send("GET /connect/L1 HTTP/1.1\r\nHost: x\r\n\r\n");
    const absl::Time give_up = absl::Now() + absl::Seconds(5);
    while (flow_.held() < static_cast<size_t>(i + 1) && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(5));
    }
  }  // the peers leave
  ASSERT_EQ(flow_.held(), 3u);
  std::thread([this] { flow_.Release(); }).join();
  flow_.set_mode(FakeFlow::Mode::kInline);
  EXPECT_EQ(Get("/connect/L1").status, 200);
  // And answers after the listener is gone go nowhere.
  flow_.set_mode(FakeFlow::Mode::kHold);
  RawPeer late(server_->port());
  late.Send("GET /connect/L1 HTTP/1.1\r\nHost: x\r\n\r\n");
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  while (flow_.held() < 1 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(5));
  server_.reset();
  flow_.Release();
}

}  // namespace
}  // namespace leafsvc::connect
