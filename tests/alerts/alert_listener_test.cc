#include "server/alerts/alert_listener.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/alerts/signature.h"
#include "server/httpd/connection_table.h"
#include "tests/httpd/raw_peer.h"

namespace leafsvc::alerts {
namespace {

constexpr char kSecret[] = "webhook-secret";
constexpr char kAlert[] =
    R"({"credential":"AgLeader","provider":"AgLeader","credentialId":"cred-1",)"
    R"("message":"no longer authenticated","status":"UNAUTHENTICATED",)"
    R"("type":"credentialsUnauthenticated","timestamp":"2024-01-01T00:00:00.000000Z"})";

// The listener publishes on a bus; the fixture subscribes (as the watch
// hub does) and records what arrived.
struct Fixture {
  std::mutex mu;
  std::map<std::string, int> results;
  std::map<std::string, int> prompts;  // credential id -> alerts published
  std::vector<watch::CredentialAlert> published;
  std::map<std::string, int> refused;
  watch::LocalAlertBus bus;
  std::unique_ptr<AlertListener> listener;

  explicit Fixture(size_t max_body = 1024) {
    AlertListenerOptions o;
    o.listen = "127.0.0.1:0";
    o.secret = Secret(kSecret);
    o.max_body_bytes = 1024;
    o.max_body_bytes = max_body;
    o.alerts = &bus;
    bus.Subscribe([this](const watch::CredentialAlert& alert) {
      std::lock_guard<std::mutex> l(mu);
      ++prompts[alert.credential_id];
      published.push_back(alert);
    });
    o.on_refused = [this](absl::string_view r) {
      std::lock_guard<std::mutex> l(mu);
      ++refused[std::string(r)];
    };
    o.on_result = [this](absl::string_view r) {
      std::lock_guard<std::mutex> l(mu);
      ++results[std::string(r)];
    };
    absl::StatusOr<std::unique_ptr<AlertListener>> started = AlertListener::Start(std::move(o));
    EXPECT_TRUE(started.ok()) << started.status();
    listener = *std::move(started);
  }
  httplib::Result Post(const std::string& body, const std::string& signature) {
    httplib::Client client("127.0.0.1", listener->port());
    httplib::Headers headers;
    if (!signature.empty()) headers.emplace(kSignatureHeader, signature);
    return client.Post("/leaf/alerts", headers, body, "application/json");
  }
  int Refused(const std::string& name) {
    std::lock_guard<std::mutex> l(mu);
    return refused[name];
  }
  int Result(const std::string& name) {
    std::lock_guard<std::mutex> l(mu);
    return results[name];
  }
  // Copies under the lock: the listener's thread writes them, and the HTTP
  // answer that followed is no ordering ThreadSanitizer can see.
  std::vector<watch::CredentialAlert> Published() {
    std::lock_guard<std::mutex> l(mu);
    return published;
  }
  std::map<std::string, int> Results() {
    std::lock_guard<std::mutex> l(mu);
    return results;
  }
  std::map<std::string, int> Prompts() {
    std::lock_guard<std::mutex> l(mu);
    return prompts;
  }
};

// The answer is the same whoever watches the credential (the listener
// cannot know: with replicas sharing alerts, maybe another process does);
// what the alert cost is counted where the bus delivers it, not here.
TEST(AlertListenerTest, ASignedAlertIsPublishedAndAccepted) {
  Fixture f;
  httplib::Result r = f.Post(kAlert, SignBody(kSecret, kAlert));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"result":"accepted"})");
  const std::vector<watch::CredentialAlert> published = f.Published();
  ASSERT_EQ(published.size(), 1u);
  const watch::CredentialAlert& a = published[0];
  EXPECT_EQ(a.credential_id, "cred-1");
  EXPECT_EQ(a.provider, "AgLeader");
  EXPECT_EQ(a.credential_type, "AgLeader");
  EXPECT_EQ(a.event, "credentialsUnauthenticated");
  EXPECT_EQ(a.status, "UNAUTHENTICATED");
  EXPECT_TRUE(f.Results().empty()) << "accepted alerts are counted by the watch hub";
}

TEST(AlertListenerTest, MissingOrWrongSignatureIs401AndPromptsNothing) {
  Fixture f;
  httplib::Result missing = f.Post(kAlert, "");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 401);
  httplib::Result forged = f.Post(kAlert, SignBody("guessed", kAlert));
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 401);
  EXPECT_EQ(f.Result(kResultBadSignature), 2);
  EXPECT_TRUE(f.Prompts().empty());
}

TEST(AlertListenerTest, ConfirmationUnknownIdsAndOversizedBodies) {
  Fixture f;
  const std::string confirm = R"({"message":"confirmation of webhook upon registration"})";
  httplib::Result c = f.Post(confirm, SignBody(kSecret, confirm));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->status, 200);
  EXPECT_EQ(f.Result(kResultConfirmation), 1);

  const std::string other = R"({"credentialId":"cred-unknown","status":"UNAUTHENTICATED"})";
  httplib::Result u = f.Post(other, SignBody(kSecret, other));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->status, 200);  // acknowledged: Leaf must not retry it
  EXPECT_EQ(u->body, R"({"result":"accepted"})");
  EXPECT_EQ(f.Prompts()["cred-unknown"], 1);

  const std::string no_id = R"({"status":"UNAUTHENTICATED"})";
  httplib::Result n = f.Post(no_id, SignBody(kSecret, no_id));
  ASSERT_TRUE(n);
  EXPECT_EQ(n->status, 200);
  EXPECT_EQ(n->body, R"({"result":"unrecognized"})");
  EXPECT_EQ(f.Result(kResultUnrecognized), 1);

  const std::string garbage = "not json";
  httplib::Result g = f.Post(garbage, SignBody(kSecret, garbage));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->status, 200);
  EXPECT_EQ(f.Result(kResultUnrecognized), 2);

  const std::string big(4096, 'x');
  httplib::Result b = f.Post(big, SignBody(kSecret, big));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->status, 413);
  EXPECT_EQ(f.Result(kResultTooLarge), 1);
  EXPECT_EQ(f.Prompts().count("cred-1"), 0u);
}

// Replays are each acknowledged and published: coalescing them is the
// poller's job (tests/watch/poller_test.cc), counting them the hub's.
TEST(AlertListenerTest, ReplaysAreAcknowledgedAndPublished) {
  Fixture f;
  for (int i = 0; i < 5; ++i) {
    httplib::Result r = f.Post(kAlert, SignBody(kSecret, kAlert));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(f.Prompts()["cred-1"], 5);
  EXPECT_TRUE(f.Results().empty());
}

TEST(AlertListenerTest, WithoutABusAlertsAreStillAccepted) {
  AlertListenerOptions o;
  o.secret = Secret(kSecret);
  const AlertListener::Outcome out =
      AlertListener::Handle(o, kAlert, SignBody(kSecret, kAlert), true);
  EXPECT_EQ(out.http_status, 200);
  EXPECT_STREQ(out.result, kResultAccepted);
}

// A signed body nested a million deep (allowed by a 1 MiB cap) crashed the
// server through RapidJSON's recursion; now it is an unrecognised alert.
TEST(AlertListenerTest, SignedDeeplyNestedBodyIsUnrecognizedNotACrash) {
  Fixture f(1 << 20);
  const std::string deep(1000000, '[');
  httplib::Result r = f.Post(deep, SignBody(kSecret, deep));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(f.Result(kResultUnrecognized), 1);
  const std::string hostile_number =
      R"({"credentialId":"cred-1","n":337206.35803523372022331e-2147483637})";
  httplib::Result n = f.Post(hostile_number, SignBody(kSecret, hostile_number));
  ASSERT_TRUE(n);
  EXPECT_EQ(n->status, 200);
}

// Two Content-Length headers are ambiguous framing (400), not a bad
// signature (401): the body is never read, let alone checked.
TEST(AlertListenerTest, ConflictingContentLengthsAre400) {
  Fixture f;
  httpd::testing::RawPeer peer(f.listener->port());
  peer.Send(absl::StrCat("POST /leaf/alerts HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n",
                         "Content-Length: 5\r\nX-Leaf-Signature: x\r\n\r\n0123456789"));
  EXPECT_EQ(httpd::testing::StatusOf(peer.ReadUntilClosed(absl::Seconds(5))), 400);
  EXPECT_EQ(f.Result(kResultBadSignature), 0);
  EXPECT_EQ(f.Refused(httpd::kRefusedBadFraming), 1);
}

int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// An unsigned chunked body far over the cap is refused as it arrives (413),
// and what follows is dropped, not buffered: 64 MiB sent at the listener
// (this process) leaves its memory where it was.
TEST(AlertListenerTest, UnsignedChunkedFloodIs413AndNeverBuffered) {
  Fixture f;
  const int64_t rss_before = ResidentBytes();
  httpd::testing::RawPeer peer(f.listener->port());
  peer.Send("POST /leaf/alerts HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  const std::string chunk = absl::StrCat("4000\r\n", std::string(0x4000, 'a'), "\r\n");
  std::string answer;
  for (int sent = 0; sent < 4096; ++sent) {  // 64 MiB
    if (!peer.Send(chunk)) break;
    if (answer.empty()) answer = peer.ReadUntil("\r\n\r\n", absl::ZeroDuration());
  }
  if (answer.empty()) answer = peer.ReadUntil("\r\n\r\n", absl::Seconds(5));
  EXPECT_EQ(httpd::testing::StatusOf(answer), 413) << answer;
  EXPECT_LT(ResidentBytes() - rss_before, int64_t{16} << 20);
  EXPECT_EQ(f.Result(kResultTooLarge), 1);
  EXPECT_TRUE(f.Prompts().empty());
}

TEST(AlertListenerTest, RefusesABadListenAddress) {
  AlertListenerOptions o;
  o.listen = "no-port";
  EXPECT_TRUE(absl::IsInvalidArgument(AlertListener::Start(o).status()));
}

}  // namespace
}  // namespace leafsvc::alerts
