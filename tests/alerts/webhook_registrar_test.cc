#include "server/alerts/webhook_registrar.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace leafsvc::alerts
