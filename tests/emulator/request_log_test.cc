// Unit tests of the request log (request_log.h).
#include "emulator/request_log.h"

#include <httplib.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace leafemu {
namespace {

httplib::Request Req(const std::string& method, const std::string& target) {
  httplib::Request r;
  r.method = method;
  r.target = target;
  r.path = target.substr(0, target.find('?'));
  return r;
}

TEST(RequestMatchesTest, MethodIgnoresCaseAndPathIsASubstring) {
  EXPECT_TRUE(RequestMatches("", "", "DELETE", "/x"));
  EXPECT_TRUE(RequestMatches("get", "/events", "GET", "/a/events"));
  EXPECT_FALSE(RequestMatches("POST", "", "GET", "/a"));
  EXPECT_FALSE(RequestMatches("", "/events", "GET", "/a/credentials"));
}

TEST(RequestLogTest, RecordsQueryLowercaseHeadersAndStatus) {
  RequestLog log(10);
  httplib::Request r = Req("POST", "/a/b?page=0&size=20");
  r.headers.emplace("X-Thing", "1");
  r.headers.emplace("x-thing", "2");
  r.headers.emplace("Content-Type", "application/json");
  r.body = "{}";
  RequestLog::Entry e = log.Record(r);
  EXPECT_EQ(log.StatusOf(e), 0);
  log.SetStatus(e, 201);
  std::vector<RecordedRequest> all = log.Matching("", "");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].path, "/a/b");
  EXPECT_EQ(all[0].query, "page=0&size=20");
  EXPECT_EQ(all[0].headers.at("x-thing"), "1, 2");
  EXPECT_EQ(all[0].headers.at("content-type"), "application/json");
  EXPECT_EQ(all[0].body, "{}");
  EXPECT_EQ(all[0].status, 201);
}

TEST(RequestLogTest, KeepsTheNewestAndCountsMatches) {
  RequestLog log(3);
  for (int i = 0; i < 5; ++i) log.Record(Req(i % 2 ? "GET" : "POST", "/p" + std::to_string(i)));
  EXPECT_EQ(log.size(), 3u);
  std::vector<RecordedRequest> all = log.Matching("", "");
  EXPECT_EQ(all.front().path, "/p2");
  EXPECT_EQ(all.back().path, "/p4");
  EXPECT_EQ(log.Count("POST", ""), 2);
  EXPECT_EQ(log.Count("", "/p3"), 1);
  EXPECT_EQ(log.Matching("GET", "").size(), 1u);
  log.Clear();
  EXPECT_EQ(log.size(), 0u);
  RequestLog at_least_one(0);
  at_least_one.Record(Req("GET", "/a"));
  EXPECT_EQ(at_least_one.size(), 1u);
}

}  // namespace
}  // namespace leafemu
