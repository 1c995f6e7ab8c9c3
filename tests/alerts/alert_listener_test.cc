#include "server/alerts/alert_listener.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <map>
#include <mutex>
#include <string>

#include "server/alerts/signature.h"

namespace leafsvc::alerts {
namespace {

constexpr char kSecret[] = "webhook-secret";
constexpr char kAlert[] =
    R"({"credential":"AgLeader","provider":"AgLeader","credentialId":"cred-1",)"
    R"("message":"no longer authenticated","status":"UNAUTHENTICATED",)"
    R"("type":"credentialsUnauthenticated","timestamp":"2024-01-01T00:00:00.000000Z"})";

struct Fixture {
  std::mutex mu;
  std::map<std::string, int> results;
  std::map<std::string, int> prompts;
  std::unique_ptr<AlertListener> listener;

  Fixture() {
    AlertListenerOptions o;
    o.listen = "127.0.0.1:0";
    o.secret = Secret(kSecret);
    o.max_body_bytes = 1024;
    o.prompt = [this](const std::string& id) {
      std::lock_guard<std::mutex> l(mu);
      ++prompts[id];
      return id == "cred-1";
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
  int Result(const std::string& name) {
    std::lock_guard<std::mutex> l(mu);
    return results[name];
  }
};

TEST(AlertListenerTest, ASignedAlertPromptsItsCredential) {
  Fixture f;
  httplib::Result r = f.Post(kAlert, SignBody(kSecret, kAlert));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(f.prompts["cred-1"], 1);
  EXPECT_EQ(f.Result(kResultPrompted), 1);
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
  EXPECT_TRUE(f.prompts.empty());
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
  EXPECT_EQ(f.Result(kResultUnknownCredential), 1);

  const std::string garbage = "not json";
  httplib::Result g = f.Post(garbage, SignBody(kSecret, garbage));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->status, 200);
  EXPECT_EQ(f.Result(kResultUnrecognized), 1);

  const std::string big(4096, 'x');
  httplib::Result b = f.Post(big, SignBody(kSecret, big));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->status, 413);
  EXPECT_EQ(f.Result(kResultTooLarge), 1);
  EXPECT_EQ(f.prompts.count("cred-1"), 0u);
}

TEST(AlertListenerTest, RefusesABadListenAddress) {
  AlertListenerOptions o;
  o.listen = "no-port";
  EXPECT_TRUE(absl::IsInvalidArgument(AlertListener::Start(o).status()));
}

}  // namespace
}  // namespace leafsvc::alerts
