// Unit tests of webhook delivery (emulator/alert_sender.h): the alert body
// names the provider by its spec, deliveries are signed, and a failed one is
// retried on the scaled schedule.
#include "emulator/alert_sender.h"

#include <httplib.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/alerts/signature.h"
#include "server/providers/agleader/agleader_spec.h"

namespace leafemu {
namespace {

using ::leafsvc::providers::ProviderSpec;

rapidjson::Document Parse(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  EXPECT_FALSE(d.HasParseError()) << json;
  return d;
}

TEST(AlertSenderTest, AlertBodyNamesTheProviderAsItsSpecDoes) {
  rapidjson::Document d =
      Parse(AlertSender::AlertBody("credentialsUnauthenticated", "c-1", "UNAUTHENTICATED",
                                   ::leafsvc::providers::AgLeaderSpec()));
  EXPECT_STREQ(d["provider"].GetString(), "AgLeader");
  EXPECT_STREQ(d["credential"].GetString(), "AgLeaderCredentials");
  EXPECT_STREQ(d["credentialId"].GetString(), "c-1");
  EXPECT_STREQ(d["status"].GetString(), "UNAUTHENTICATED");
  EXPECT_STREQ(d["type"].GetString(), "credentialsUnauthenticated");
  EXPECT_STREQ(d["message"].GetString(), "Credentials no longer authenticated");
  // yyyy-MM-ddTHH:mm:ss.SSSSSSZ, as Leaf documents it.
  const std::string ts = d["timestamp"].GetString();
  ASSERT_EQ(ts.size(), 27u) << ts;
  EXPECT_EQ(ts[10], 'T');
  EXPECT_EQ(ts[19], '.');
  EXPECT_EQ(ts.back(), 'Z');

  ProviderSpec other;
  other.name = "Testland";
  other.resource_type = "TestlandCredentials";
  rapidjson::Document t =
      Parse(AlertSender::AlertBody("credentialsLimitedPermission", "c-2", "LIMITED", other));
  EXPECT_STREQ(t["provider"].GetString(), "Testland");
  EXPECT_STREQ(t["credential"].GetString(), "TestlandCredentials");
  EXPECT_STREQ(t["message"].GetString(), "Credentials with limited permissions");
}

TEST(AlertSenderTest, RetryScheduleIsLeafsScaled) {
  const std::vector<absl::Duration> s = AlertSender::RetrySchedule(1.0);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0], absl::Minutes(1));
  EXPECT_EQ(s[1], absl::Minutes(30));
  EXPECT_EQ(s[2], absl::Minutes(60));
  EXPECT_EQ(s[3], absl::Minutes(240));
  EXPECT_EQ(AlertSender::RetrySchedule(0.5)[3], absl::Minutes(120));
}

// A receiver on loopback that fails the first delivery and accepts the
// second; both must carry a valid signature.
TEST(AlertSenderTest, DeliversSignedAndRetriesAFailure) {
  httplib::Server receiver;
  std::mutex mu;
  std::vector<std::string> bodies;
  std::vector<bool> signed_ok;
  receiver.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> l(mu);
    bodies.push_back(req.body);
    signed_ok.push_back(::leafsvc::alerts::SignatureMatches(
        "hook-secret", req.body, req.get_header_value(::leafsvc::alerts::kSignatureHeader)));
    res.status = bodies.size() == 1 ? 500 : 200;
  });
  const int port = receiver.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&] { receiver.listen_after_bind(); });
  // Bound and listening: connections queue until the loop runs.

  {
    // 1 minute * 1e-5: the retry comes 0.6 ms later.
    AlertSender sender(1e-5);
    Webhook hook;
    hook.id = "w-1";
    hook.url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
    hook.secret = "hook-secret";
    sender.Send(hook, R"({"credentialId":"c-1"})");
    // Generous bound: the deliveries themselves take milliseconds.
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (sender.Deliveries().size() < 2 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    const std::vector<AlertDelivery> d = sender.Deliveries();
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0].attempt, 1);
    EXPECT_EQ(d[0].http_status, 500);
    EXPECT_EQ(d[1].attempt, 2);
    EXPECT_EQ(d[1].http_status, 200);
    EXPECT_EQ(d[1].webhook_id, "w-1");
    EXPECT_EQ(d[1].body, R"({"credentialId":"c-1"})");
    // Accepted: nothing more is sent.
    absl::SleepFor(absl::Milliseconds(50));
    EXPECT_EQ(sender.Deliveries().size(), 2u);
  }
  receiver.stop();
  serving.join();
  std::lock_guard<std::mutex> l(mu);
  ASSERT_EQ(signed_ok.size(), 2u);
  EXPECT_TRUE(signed_ok[0]);
  EXPECT_TRUE(signed_ok[1]);
}

TEST(AlertSenderTest, NoAnswerIsRecordedAsZeroAndResetForgets) {
  AlertSender sender(1000.0);  // no retry within the test
  Webhook hook;
  hook.id = "w-2";
  hook.url = "http://127.0.0.1:1/nothing-listens-here";
  sender.Send(hook, "{}");
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (sender.Deliveries().empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(sender.Deliveries().size(), 1u);
  EXPECT_EQ(sender.Deliveries()[0].http_status, 0);
  sender.Reset();
  EXPECT_TRUE(sender.Deliveries().empty());
}

TEST(AlertSenderTest, ConfirmationBody) {
  EXPECT_STREQ(Parse(AlertSender::ConfirmationBody())["message"].GetString(),
               "confirmation of webhook upon registration");
}

}  // namespace
}  // namespace leafemu
