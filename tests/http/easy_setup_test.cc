// ConfigureEasy (server/http/easy_setup.h) on a real easy handle against a
// local HTTP server: what each request puts on the wire, the fixed options
// (no redirects, http(s) only, the user agent), and the promise that a pooled
// handle reused for a plain GET behaves exactly as a reset one: nothing of
// the previous request (body, method, headers, timeout, fresh connection)
// leaks into the next.
#include "server/http/easy_setup.h"

#include <curl/curl.h>
#include <httplib.h>

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/http/response_reader.h"
#include "server/http/tls_trust.h"
#include "tests/http/http_test_util.h"

namespace leafsvc::http {
namespace {

using testing::TestServer;

struct Seen {
  std::string method;
  std::string path;
  std::string body;
  httplib::Headers headers;
};

// One pooled transfer, as CurlHttpClient keeps it.
struct Pooled {
  CURL* easy = curl_easy_init();
  char error[CURL_ERROR_SIZE] = {};
  ResponseReader reader;
  curl_slist* headers = nullptr;
  bool configured_for_get = false;
  ~Pooled() {
    curl_slist_free_all(headers);
    curl_easy_cleanup(easy);
  }
};

struct Outcome {
  absl::Status configured;
  CURLcode rc = CURLE_OK;
  int status = 0;
  long connects = -1;  // new connections this transfer opened
  std::string body;
};

class EasySetupTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }

  EasySetupTest() {
    auto record = [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> l(mu_);
        seen_.push_back(Seen{req.method, req.path, req.body, req.headers});
      }
      res.set_content("answer to " + req.method, "text/plain");
    };
    httplib::Server& s = server_.server();
    s.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      res.set_content("slow", "text/plain");
    });
    s.Get("/redirect",
          [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/elsewhere"); });
    // After the specific routes: httplib takes the first match.
    s.Get("/.*", record);
    s.Post("/.*", record);
    s.Put("/.*", record);
    s.Delete("/.*", record);
    s.Patch("/.*", record);
    EXPECT_TRUE(server_.Start());
    auto tls = TlsTrust::Create("");
    EXPECT_TRUE(tls.ok()) << tls.status();
    if (tls.ok()) tls_ = std::move(*tls);
  }

  std::string Url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(server_.port()) + path;
  }

  HttpRequest Get(const std::string& path) {
    HttpRequest r;
    r.method = "GET";
    r.url = Url(path);
    return r;
  }

  // Configures `p` for `req` and, when that worked, performs it.
  Outcome Run(Pooled& p, const HttpRequest& req, const std::string& user_agent = "") {
    Outcome out;
    // The caller frees the previous list (CurlHttpClient does at the end of
    // each transfer).
    curl_slist_free_all(p.headers);
    p.headers = nullptr;
    p.reader.Reset(1 << 20, req.method == "HEAD");
    EasyTarget target{&p, p.error, &p.reader, &p.headers, &p.configured_for_get};
    out.configured =
        ConfigureEasy(p.easy, req, absl::Now(), EasyOptions{tls_.get(), 5000, &user_agent}, target);
    if (!out.configured.ok()) return out;
    out.rc = curl_easy_perform(p.easy);
    long code = 0;
    curl_easy_getinfo(p.easy, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(p.easy, CURLINFO_NUM_CONNECTS, &out.connects);
    out.status = static_cast<int>(code);
    out.body = p.reader.Take(out.status).body;
    return out;
  }

  Seen Last() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_.empty() ? Seen{} : seen_.back();
  }
  size_t SeenCount() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_.size();
  }

  std::unique_ptr<TlsTrust> tls_;
  std::mutex mu_;
  std::vector<Seen> seen_;
  // Last: destroyed first, so the server's threads have stopped before the
  // members its handlers touch go.
  TestServer<httplib::Server> server_;
};

TEST_F(EasySetupTest, AGetSendsItsHeadersAndReadsTheAnswer) {
  Pooled p;
  HttpRequest req = Get("/v1/things?x=1");
  req.headers = {{"Authorization", "Bearer t"}, {"X-Other", "v"}};
  Outcome o = Run(p, req, "agleader-test/1.0");
  ASSERT_TRUE(o.configured.ok()) << o.configured;
  ASSERT_EQ(o.rc, CURLE_OK) << p.error;
  EXPECT_EQ(o.status, 200);
  EXPECT_EQ(o.body, "answer to GET");
  const Seen s = Last();
  EXPECT_EQ(s.method, "GET");
  EXPECT_EQ(s.path, "/v1/things");
  EXPECT_EQ(s.headers.find("Authorization")->second, "Bearer t");
  ASSERT_EQ(s.headers.count("X-Other"), 1u);
  EXPECT_EQ(s.headers.find("X-Other")->second, "v");
  EXPECT_EQ(s.headers.find("User-Agent")->second, "agleader-test/1.0");
  EXPECT_EQ(s.headers.count("Expect"), 0u);
  // CURLOPT_PRIVATE is the target's.
  void* priv = nullptr;
  curl_easy_getinfo(p.easy, CURLINFO_PRIVATE, &priv);
  EXPECT_EQ(priv, &p);
  EXPECT_TRUE(p.configured_for_get);
}

TEST_F(EasySetupTest, AnEmptyUserAgentSendsNone) {
  Pooled p;
  ASSERT_EQ(Run(p, Get("/ua")).rc, CURLE_OK) << p.error;
  EXPECT_EQ(Last().headers.count("User-Agent"), 0u);
}

TEST_F(EasySetupTest, APostSendsItsExactBodyWithoutACurlDefaultContentType) {
  Pooled p;
  HttpRequest req = Get("/login");
  req.method = "POST";
  req.body = std::string("{\"a\":\"b\0c\"}", 11);
  Outcome o = Run(p, req);
  ASSERT_EQ(o.rc, CURLE_OK) << p.error;
  const Seen s = Last();
  EXPECT_EQ(s.method, "POST");
  EXPECT_EQ(s.body, req.body);
  EXPECT_EQ(s.headers.count("Content-Type"), 0u) << s.headers.find("Content-Type")->second;
  EXPECT_FALSE(p.configured_for_get);
}

TEST_F(EasySetupTest, OtherMethodsGoOutAsThemselves) {
  Pooled p;
  for (const char* method : {"DELETE", "PUT", "PATCH"}) {
    HttpRequest req = Get("/m");
    req.method = method;
    if (std::string(method) != "DELETE") req.body = "b";
    Outcome o = Run(p, req);
    ASSERT_EQ(o.rc, CURLE_OK) << method << ": " << p.error;
    EXPECT_EQ(Last().method, method);
    EXPECT_FALSE(p.configured_for_get) << method;
  }
  HttpRequest head = Get("/m");
  head.method = "HEAD";
  const size_t before = SeenCount();
  Outcome o = Run(p, head);
  ASSERT_EQ(o.rc, CURLE_OK) << p.error;
  EXPECT_EQ(o.status, 200);
  EXPECT_EQ(o.body, "");
  EXPECT_EQ(SeenCount(), before + 1);
  EXPECT_EQ(Last().method, "HEAD");
}

TEST_F(EasySetupTest, RedirectsAreNotFollowed) {
  Pooled p;
  const size_t before = SeenCount();
  Outcome o = Run(p, Get("/redirect"));
  ASSERT_EQ(o.rc, CURLE_OK) << p.error;
  EXPECT_EQ(o.status, 302);
  EXPECT_EQ(SeenCount(), before) << "the redirect target was requested";
}

TEST_F(EasySetupTest, OnlyHttpAndHttpsUrlsAreFetched) {
  Pooled p;
  for (const char* url :
       {"file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/x", "dict://127.0.0.1/x"}) {
    HttpRequest req;
    req.method = "GET";
    req.url = url;
    Outcome o = Run(p, req);
    ASSERT_TRUE(o.configured.ok()) << o.configured;
    EXPECT_EQ(o.rc, CURLE_UNSUPPORTED_PROTOCOL) << url;
    EXPECT_EQ(o.body, "") << url;
  }
}

TEST_F(EasySetupTest, AHeaderThatCouldSplitTheRequestIsRefusedWithoutItsValue) {
  Pooled p;
  ASSERT_EQ(Run(p, Get("/ok")).rc, CURLE_OK);
  ASSERT_TRUE(p.configured_for_get);
  // On the reuse path and on the reset path.
  for (int i = 0; i < 2; ++i) {
    HttpRequest req = Get("/bad");
    req.headers = {{"X-Inject", "secret-value\r\nX-Evil: 1"}};
    const size_t before = SeenCount();
    Outcome o = Run(p, req);
    ASSERT_FALSE(o.configured.ok());
    EXPECT_EQ(o.configured.code(), absl::StatusCode::kInternal);
    EXPECT_TRUE(absl::StrContains(o.configured.message(), "X-Inject")) << o.configured;
    EXPECT_FALSE(absl::StrContains(o.configured.message(), "secret-value")) << o.configured;
    EXPECT_FALSE(p.configured_for_get) << "the next request must reset the handle";
    EXPECT_EQ(SeenCount(), before);
  }
  // And the handle still works afterwards, without the refused header.
  ASSERT_EQ(Run(p, Get("/after")).rc, CURLE_OK) << p.error;
  EXPECT_EQ(Last().headers.count("X-Inject"), 0u);
}

TEST_F(EasySetupTest, AReusedGetDropsThePreviousGetsHeadersAndUrl) {
  Pooled p;
  HttpRequest first = Get("/first");
  first.headers = {{"Authorization", "Bearer one"}, {"X-Only-First", "1"}};
  ASSERT_EQ(Run(p, first, "ua").rc, CURLE_OK);
  ASSERT_TRUE(p.configured_for_get);
  HttpRequest second = Get("/second");
  second.headers = {{"Authorization", "Bearer two"}};
  ASSERT_EQ(Run(p, second, "ua").rc, CURLE_OK) << p.error;
  const Seen s = Last();
  EXPECT_EQ(s.path, "/second");
  EXPECT_EQ(s.headers.find("Authorization")->second, "Bearer two");
  EXPECT_EQ(s.headers.count("X-Only-First"), 0u);
  EXPECT_EQ(s.headers.find("User-Agent")->second, "ua");  // kept from the first setup
  EXPECT_TRUE(p.configured_for_get);
}

TEST_F(EasySetupTest, AGetAfterAPostIsAPlainGetWithNoBody) {
  Pooled p;
  HttpRequest post = Get("/post");
  post.method = "POST";
  post.body = "leftover";
  ASSERT_EQ(Run(p, post).rc, CURLE_OK);
  ASSERT_EQ(Run(p, Get("/get")).rc, CURLE_OK) << p.error;
  Seen s = Last();
  EXPECT_EQ(s.method, "GET");
  EXPECT_EQ(s.body, "");
  // A POST after a reusable GET is a POST again.
  ASSERT_TRUE(p.configured_for_get);
  ASSERT_EQ(Run(p, post).rc, CURLE_OK);
  EXPECT_EQ(Last().method, "POST");
  EXPECT_EQ(Last().body, "leftover");
  // A DELETE after a reusable GET keeps its method too.
  ASSERT_EQ(Run(p, Get("/get")).rc, CURLE_OK);
  HttpRequest del = Get("/del");
  del.method = "DELETE";
  ASSERT_EQ(Run(p, del).rc, CURLE_OK);
  EXPECT_EQ(Last().method, "DELETE");
  ASSERT_EQ(Run(p, Get("/get2")).rc, CURLE_OK);
  EXPECT_EQ(Last().method, "GET") << "DELETE's custom method leaked into a GET";
}

TEST_F(EasySetupTest, TheDeadlineBecomesATimeoutAndAReusedGetClearsIt) {
  Pooled p;
  ASSERT_EQ(Run(p, Get("/warm")).rc, CURLE_OK);
  ASSERT_TRUE(p.configured_for_get);
  HttpRequest slow = Get("/slow");
  slow.deadline = absl::Now() + absl::Milliseconds(200);
  EXPECT_EQ(Run(p, slow).rc, CURLE_OPERATION_TIMEDOUT) << "reuse path ignored the deadline";
  // The previous GET's timeout must not apply to one without a deadline.
  ASSERT_EQ(Run(p, Get("/warm")).rc, CURLE_OK);
  Outcome o = Run(p, Get("/slow"));
  EXPECT_EQ(o.rc, CURLE_OK) << p.error;
  EXPECT_EQ(o.body, "slow");
  // And on a fresh handle.
  Pooled fresh;
  slow.deadline = absl::Now() + absl::Milliseconds(200);
  EXPECT_EQ(Run(fresh, slow).rc, CURLE_OPERATION_TIMEDOUT);
}

TEST_F(EasySetupTest, FreshConnectionIsHonouredAndNotCarriedOver) {
  Pooled p;
  ASSERT_EQ(Run(p, Get("/a")).connects, 1);
  ASSERT_EQ(Run(p, Get("/b")).connects, 0) << "the connection was not reused";
  HttpRequest fresh = Get("/c");
  fresh.fresh_connection = true;
  EXPECT_EQ(Run(p, fresh).connects, 1);
  EXPECT_EQ(Run(p, Get("/d")).connects, 0) << "fresh_connection leaked into the next GET";
  HttpRequest post = Get("/e");
  post.method = "POST";
  post.body = "x";
  post.fresh_connection = true;
  EXPECT_EQ(Run(p, post).connects, 1);
}

}  // namespace
}  // namespace leafsvc::http
