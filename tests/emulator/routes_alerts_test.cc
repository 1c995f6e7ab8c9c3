// Leaf's alerts API on the emulator, through real HTTP: webhook CRUD, one
// webhook per event, the signed registration confirmation, the alert sent
// when a credential's status changes through the control API, and Leaf's
// retry schedule (scaled) when the receiver fails.
#include <httplib.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/alerts/signature.h"
#include "tests/emulator/emulator_fixture.h"

namespace leafemu {
namespace emutest {
namespace {

constexpr char kWebhooks[] = "/services/alerts/api/alerts/webhooks";
constexpr char kSecret[] = "hook-secret";

// A webhook receiver on loopback that records what it gets and answers
// `status`.
class Receiver {
 public:
  Receiver() {
    server_.Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> l(mu_);
      bodies_.push_back(req.body);
      signed_ok_.push_back(leafsvc::alerts::SignatureMatches(
          kSecret, req.body, req.get_header_value("X-Leaf-Signature")));
      res.status = status_;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_, "/leaf/alerts"); }
  void set_status(int s) { status_ = s; }
  // Waits up to `timeout` for at least `n` deliveries.
  std::vector<std::string> WaitFor(size_t n, absl::Duration timeout = absl::Seconds(5)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      {
        std::lock_guard<std::mutex> l(mu_);
        if (bodies_.size() >= n) return bodies_;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    std::lock_guard<std::mutex> l(mu_);
    return bodies_;
  }
  bool all_signed() {
    std::lock_guard<std::mutex> l(mu_);
    for (bool ok : signed_ok_) {
      if (!ok) return false;
    }
    return true;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> status_{200};
  std::mutex mu_;
  std::vector<std::string> bodies_;
  std::vector<bool> signed_ok_;
};

class AlertsTest : public EmulatorTest {
 protected:
  void SetUp() override {
    EmulatorOptions o = DefaultOptions();
    o.alert_retry_scale = 0.00005;  // 3 ms, 90 ms, 180 ms, 720 ms
    StartWith(o);
  }
  httplib::Result CreateHook(const std::string& url, const std::string& events) {
    return NewClient()->Post(kWebhooks, Auth(),
                             absl::StrCat(R"({"events":)", events, R"(,"name":"t","secret":")",
                                          kSecret, R"(","url":")", url, R"("})"),
                             "application/json");
  }
};

TEST_F(AlertsTest, WebhookCrudAndOneWebhookPerEvent) {
  Receiver receiver;
  httplib::Result created = CreateHook(receiver.url(), R"(["credentialsUnauthenticated"])");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  const std::string id = Parse(created->body)["id"].GetString();

  httplib::Result twice =
      CreateHook("http://127.0.0.1:1/other",
                 R"(["credentialsLimitedPermission","credentialsUnauthenticated"])");
  ExpectProblem(twice, 400, "eventRegisteredTwice");

  httplib::Result list = NewClient()->Get(kWebhooks, Auth());
  ASSERT_TRUE(list);
  rapidjson::Document hooks = Parse(list->body);
  ASSERT_TRUE(hooks.IsArray());
  ASSERT_EQ(hooks.Size(), 1u);
  EXPECT_EQ(std::string(hooks[0]["url"].GetString()), receiver.url());
  EXPECT_FALSE(hooks[0].HasMember("secret"));

  httplib::Result one = NewClient()->Get(absl::StrCat(kWebhooks, "/", id).c_str(), Auth());
  ASSERT_TRUE(one);
  EXPECT_EQ(one->status, 200);
  httplib::Result del = NewClient()->Delete(absl::StrCat(kWebhooks, "/", id).c_str(), Auth());
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 204);
  ExpectProblem(NewClient()->Get(absl::StrCat(kWebhooks, "/", id).c_str(), Auth()), 404);
  ExpectProblem(NewClient()->Get(kWebhooks), 401);
}

TEST_F(AlertsTest, ConfirmationThenSignedAlertOnStatusChange) {
  Receiver receiver;
  ASSERT_EQ(CreateHook(receiver.url(), R"(["credentialsUnauthenticated"])")->status, 201);
  std::vector<std::string> got = receiver.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].find("confirmation of webhook upon registration"), std::string::npos);

  ASSERT_EQ(CreateCreds()->status, 201);
  const std::string cred_id = emu_->GetStored(kLeafUser)->id;
  httplib::Result set =
      NewClient()->Post(absl::StrCat("/_emulator/users/", kLeafUser, "/status").c_str(),
                        R"({"status":"UNAUTHENTICATED"})", "application/json");
  ASSERT_TRUE(set);
  ASSERT_EQ(set->status, 200);
  got = receiver.WaitFor(2);
  ASSERT_EQ(got.size(), 2u);
  rapidjson::Document alert = Parse(got[1]);
  EXPECT_EQ(std::string(alert["credentialId"].GetString()), cred_id);
  EXPECT_EQ(std::string(alert["type"].GetString()), "credentialsUnauthenticated");
  EXPECT_EQ(std::string(alert["status"].GetString()), "UNAUTHENTICATED");
  EXPECT_TRUE(receiver.all_signed());

  // No event for a return to OK or for an event nobody registered.
  NewClient()->Post(absl::StrCat("/_emulator/users/", kLeafUser, "/status").c_str(),
                    R"({"status":"OK"})", "application/json");
  NewClient()->Post(absl::StrCat("/_emulator/users/", kLeafUser, "/status").c_str(),
                    R"({"status":"MISSING_PERMISSION"})", "application/json");
  EXPECT_EQ(receiver.WaitFor(3, absl::Milliseconds(300)).size(), 2u);
}

TEST_F(AlertsTest, AFailingReceiverIsRetriedOnTheScaledSchedule) {
  Receiver receiver;
  receiver.set_status(500);
  const absl::Time start = absl::Now();
  ASSERT_EQ(CreateHook(receiver.url(), R"(["credentialsUnauthenticated"])")->status, 201);
  std::vector<std::string> got = receiver.WaitFor(5);
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(got.size(), 5u);                 // the first try and 4 retries
  EXPECT_GE(took, absl::Milliseconds(990));  // 3 + 90 + 180 + 720 ms
  EXPECT_EQ(receiver.WaitFor(6, absl::Milliseconds(300)).size(), 5u);  // then Leaf gives up
  std::vector<AlertDelivery> deliveries = emu_->AlertDeliveries();
  ASSERT_EQ(deliveries.size(), 5u);
  EXPECT_EQ(deliveries.back().attempt, 5);
  EXPECT_EQ(deliveries.back().http_status, 500);
  httplib::Result failed =
      NewClient()->Get(absl::StrCat(kWebhooks, "/failed-calls").c_str(), Auth());
  ASSERT_TRUE(failed);
  EXPECT_EQ(Parse(failed->body).Size(), 5u);
}

TEST(AlertScheduleTest, IsLeafsScaled) {
  std::vector<absl::Duration> s = AlertSender::RetrySchedule(1.0);
  EXPECT_EQ(s, (std::vector<absl::Duration>{absl::Minutes(1), absl::Minutes(30), absl::Minutes(60),
                                            absl::Minutes(240)}));
  EXPECT_EQ(AlertSender::RetrySchedule(0.001)[0], absl::Milliseconds(60));
}

}  // namespace
}  // namespace emutest
}  // namespace leafemu
