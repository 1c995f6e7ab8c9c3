#include "server/alerts/webhook_registrar.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "tests/leaf/fake_http_client.h"
#include "tests/leaf/test_token_sources.h"

namespace leafsvc::alerts {
namespace {

constexpr char kUrl[] = "https://svc.example.com/leaf/alerts";

TEST(WebhookRegistrarTest, MissingEventsAreThoseNoWebhookCarries) {
  std::vector<std::string> elsewhere;
  absl::StatusOr<std::vector<std::string>> missing =
      WebhookRegistrar::MissingEvents("[]", kUrl, &elsewhere);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(*missing, (std::vector<std::string>{"credentialsUnauthenticated",
                                                "credentialsLimitedPermission"}));

  missing = WebhookRegistrar::MissingEvents(
      R"([{"id":"w1","events":["credentialsUnauthenticated","uploadedFile"],)"
      R"("url":"https://svc.example.com/leaf/alerts"}])",
      kUrl, &elsewhere);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(*missing, (std::vector<std::string>{"credentialsLimitedPermission"}));
  EXPECT_TRUE(elsewhere.empty());
}

TEST(WebhookRegistrarTest, AnEventDeliveredElsewhereIsNotMissingButReported) {
  std::vector<std::string> elsewhere;
  absl::StatusOr<std::vector<std::string>> missing = WebhookRegistrar::MissingEvents(
      R"([{"id":"w1","events":["credentialsLimitedPermission"],"url":"https://old"},)"
      R"({"id":"w2","events":["credentialsUnauthenticated"],"url":"https://svc.example.com/leaf/alerts"}])",
      kUrl, &elsewhere);
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->empty());
  EXPECT_EQ(elsewhere, (std::vector<std::string>{"credentialsLimitedPermission"}));
}

TEST(WebhookRegistrarTest, ANonArrayListIsAnError) {
  EXPECT_FALSE(WebhookRegistrar::MissingEvents("{}", kUrl, nullptr).ok());
  EXPECT_FALSE(WebhookRegistrar::MissingEvents("<html>", kUrl, nullptr).ok());
}

// The registrar's callbacks run on threads it does not own (the token
// source's, the transport's, the scheduler's), and may fire after it is gone:
// at SIGTERM a login is often still in flight when App destroys it.
class RegistrarLifetimeTest : public ::testing::Test {
 protected:
  WebhookRegistrarOptions Options() {
    WebhookRegistrarOptions o;
    o.leaf_api_url = "http://leaf.invalid";
    o.public_url = kUrl;
    o.secret = Secret(std::string(32, 's'));
    o.initial_backoff = absl::Hours(1);  // no retry runs during a test
    o.on_attempt = [this](const absl::Status&) { ++attempts_; };
    return o;
  }
  testing::FakeHttpClient http_;
  Scheduler scheduler_;
  std::atomic<int> attempts_{0};
};

TEST_F(RegistrarLifetimeTest, ALoginThatEndsAfterDestructionDoesNothing) {
  testing::PendingTokenSource tokens;
  auto registrar = std::make_unique<WebhookRegistrar>(&http_, &tokens, &scheduler_, Options());
  registrar->Start();
  ASSERT_EQ(tokens.waiting_.size(), 1u);
  registrar.reset();  // SIGTERM with the login in flight
  // The login ends: neither a request nor an attempt report may follow.
  tokens.waiting_[0](Secret("token-after-shutdown"));
  tokens.waiting_.clear();
  EXPECT_TRUE(http_.requests().empty());
  EXPECT_EQ(attempts_.load(), 0);
}

TEST_F(RegistrarLifetimeTest, AFailedLoginAfterDestructionSchedulesNothing) {
  testing::PendingTokenSource tokens;
  auto registrar = std::make_unique<WebhookRegistrar>(&http_, &tokens, &scheduler_, Options());
  registrar->Start();
  registrar.reset();
  tokens.waiting_[0](absl::UnavailableError("login failed"));
  EXPECT_EQ(attempts_.load(), 0);
}

TEST_F(RegistrarLifetimeTest, AnAnswerDeliveredAfterDestructionDoesNothing) {
  testing::CountingTokenSource tokens;
  auto registrar = std::make_unique<WebhookRegistrar>(&http_, &tokens, &scheduler_, Options());
  registrar->Start();
  ASSERT_EQ(http_.pending(), 1u);
  // The transport has the answer in hand (Cancel finds nothing to cancel)...
  std::optional<http::HttpCallback> answer = http_.Take();
  ASSERT_TRUE(answer.has_value());
  registrar.reset();
  // ... and delivers it after the registrar is gone.
  http::HttpResponse list;
  list.status_code = 200;
  list.body = "[]";
  (*answer)(list);
  EXPECT_EQ(http_.requests().size(), 1u);  // no create followed
  EXPECT_EQ(attempts_.load(), 0);
}

TEST_F(RegistrarLifetimeTest, DestructionWaitsForACallbackAlreadyRunning) {
  testing::CountingTokenSource tokens;
  absl::Notification inside, release;
  std::atomic<bool> returned{false};
  WebhookRegistrarOptions o = Options();
  o.on_attempt = [&](const absl::Status&) {
    inside.Notify();
    release.WaitForNotification();
    // Still in the registrar (Finish goes on after this): it must exist.
    EXPECT_FALSE(returned.load());
  };
  auto registrar = std::make_unique<WebhookRegistrar>(&http_, &tokens, &scheduler_, o);
  registrar->Start();
  std::optional<http::HttpCallback> answer = http_.Take();
  ASSERT_TRUE(answer.has_value());
  std::thread transport([&] {
    http::HttpResponse r;
    r.status_code = 500;
    (*answer)(r);
  });
  inside.WaitForNotification();
  std::thread stopper([&] {
    registrar.reset();
    returned = true;
  });
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE(returned.load());
  release.Notify();
  transport.join();
  stopper.join();
  EXPECT_TRUE(returned.load());
}

}  // namespace
}  // namespace leafsvc::alerts
