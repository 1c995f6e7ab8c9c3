#include "server/http/request_plan.h"

#include <climits>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/http_client.h"

namespace leafsvc::http {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using Body = RequestPlan::Body;

const absl::Time kNow = absl::FromUnixSeconds(1000);

HttpRequest Request(std::string method, std::string body = "") {
  HttpRequest request;
  request.method = std::move(method);
  request.url = "http://127.0.0.1/x";
  request.body = std::move(body);
  return request;
}

RequestPlan Plan(const HttpRequest& request) {
  absl::StatusOr<RequestPlan> plan = PlanRequest(request, kNow);
  EXPECT_TRUE(plan.ok()) << plan.status();
  return plan.ok() ? *plan : RequestPlan();
}

TEST(RequestPlanTest, BodylessGetAndDeleteUseHttpGet) {
  for (const char* method : {"GET", ""}) {
    RequestPlan plan = Plan(Request(method));
    EXPECT_EQ(plan.body, Body::kGet) << method;
    EXPECT_FALSE(plan.custom_method.has_value()) << method;
  }
  RequestPlan del = Plan(Request("DELETE"));
  EXPECT_EQ(del.body, Body::kGet);
  EXPECT_EQ(del.custom_method, "DELETE");
}

TEST(RequestPlanTest, HeadAsksForNoBody) {
  RequestPlan plan = Plan(Request("HEAD", "ignored"));
  EXPECT_EQ(plan.body, Body::kNone);
  EXPECT_FALSE(plan.custom_method.has_value());
}

TEST(RequestPlanTest, MethodsWithABodySendPostFields) {
  RequestPlan post = Plan(Request("POST"));  // Even an empty body.
  EXPECT_EQ(post.body, Body::kFields);
  EXPECT_FALSE(post.custom_method.has_value());
  RequestPlan put = Plan(Request("PUT", "x"));
  EXPECT_EQ(put.body, Body::kFields);
  EXPECT_EQ(put.custom_method, "PUT");
  // A GET or DELETE with a body keeps its method.
  EXPECT_EQ(Plan(Request("GET", "x")).custom_method, "GET");
  EXPECT_EQ(Plan(Request("", "x")).custom_method, "GET");
  EXPECT_EQ(Plan(Request("DELETE", "x")).custom_method, "DELETE");
  EXPECT_EQ(Plan(Request("PATCH", "x")).body, Body::kFields);
}

TEST(RequestPlanTest, HeadersBecomeCurlLinesWithExpectSuppressed) {
  HttpRequest request = Request("GET");
  request.headers = {{"Authorization", "Bearer t"}, {"X-Empty", ""}, {"Accept", "a/b"}};
  EXPECT_THAT(Plan(request).header_lines,
              ElementsAre("Authorization: Bearer t", "X-Empty;", "Accept: a/b", "Expect:"));
}

TEST(RequestPlanTest, UntypedBodySuppressesCurlsDefaultContentType) {
  EXPECT_THAT(Plan(Request("POST", "{}")).header_lines, ElementsAre("Expect:", "Content-Type:"));
  HttpRequest typed = Request("POST", "{}");
  typed.headers = {{"content-TYPE", "application/json"}};
  EXPECT_THAT(Plan(typed).header_lines, ElementsAre("content-TYPE: application/json", "Expect:"));
  // Nothing to suppress without a body.
  EXPECT_THAT(Plan(Request("GET")).header_lines, ElementsAre("Expect:"));
}

TEST(RequestPlanTest, HeaderThatCouldSplitTheRequestIsRejectedWithoutItsValue) {
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"Authorization", "Bearer secret\r\nX-Evil: 1"},
           {"Authorization", "secret\n"},
           {"X-A\r", "secret"},
           {"X:Y", "secret"},
           {"", "secret"}}) {
    HttpRequest request = Request("GET");
    request.headers = {{"Ok", "1"}, {name, value}};
    absl::StatusOr<RequestPlan> plan = PlanRequest(request, kNow);
    ASSERT_EQ(plan.status().code(), absl::StatusCode::kInternal) << name;
    EXPECT_THAT(std::string(plan.status().message()), HasSubstr("invalid request header"));
    EXPECT_THAT(std::string(plan.status().message()), Not(HasSubstr("secret")));
  }
  HttpRequest request = Request("GET");
  request.headers = {{"X-Bad\n", "v"}};
  EXPECT_THAT(std::string(PlanRequest(request, kNow).status().message()),
              HasSubstr("(header \"X-Bad\\n\")"));
}

TEST(RequestPlanTest, DeadlineBecomesATimeoutRoundedUpToAMillisecond) {
  HttpRequest request = Request("GET");
  EXPECT_FALSE(Plan(request).timeout_ms.has_value());
  request.deadline = kNow + absl::Milliseconds(250);
  EXPECT_EQ(Plan(request).timeout_ms, 250);
  request.deadline = kNow + absl::Microseconds(1500);
  EXPECT_EQ(Plan(request).timeout_ms, 2);
  // A passed deadline still gets 1 ms (0 would mean no timeout to curl).
  request.deadline = kNow - absl::Seconds(1);
  EXPECT_EQ(Plan(request).timeout_ms, 1);
}

TEST(RequestPlanTest, FreshConnectionIsCarriedOver) {
  HttpRequest request = Request("POST", "x");
  EXPECT_FALSE(Plan(request).fresh_connect);
  request.fresh_connection = true;
  EXPECT_TRUE(Plan(request).fresh_connect);
}

TEST(RequestPlanTest, ConnectTimeoutIsClampedToAtLeastOneMillisecond) {
  EXPECT_EQ(ConnectTimeoutMs(absl::Seconds(5)), 5000);
  EXPECT_EQ(ConnectTimeoutMs(absl::Microseconds(10)), 1);
  EXPECT_EQ(ConnectTimeoutMs(absl::InfiniteDuration()), LONG_MAX);
}

}  // namespace
}  // namespace leafsvc::http
