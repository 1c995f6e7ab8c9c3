// Unit tests of the Router (router.h), with requests built in process.
#include "emulator/router.h"

#include <httplib.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace leafemu {
namespace {

httplib::Request Req(const std::string& method, const std::string& path, bool authorized = true) {
  httplib::Request r;
  r.method = method;
  r.path = path;
  if (authorized) r.headers.emplace("Authorization", "ok");
  return r;
}

std::string Detail(const httplib::Response& res) {
  rapidjson::Document d;
  d.Parse(res.body.c_str());
  return d.IsObject() && d.HasMember("detail") ? d["detail"].GetString() : "";
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest()
      : router_("/api", [](const httplib::Request& req) {
          return req.has_header("Authorization") ? absl::OkStatus()
                                                 : absl::UnauthenticatedError("no token");
        }) {
    router_.AddPublic("POST", "/login", Record("login"));
    router_.AddApi("GET", "/items/{id}", Record("get"));
    router_.AddApi("DELETE", "/items/{id}", Record("delete"));
    router_.AddApi("GET", "/items/{id}/parts", Record("parts"));
    router_.AddParamCheck("id", [](const std::string& v) -> std::optional<Problem> {
      if (v != "bad") return std::nullopt;
      Problem p;
      p.status = 400;
      p.detail = "bad id";
      return p;
    });
  }

  Router::Handler Record(const std::string& name) {
    return [this, name](const RouteRequest& req, httplib::Response& res) {
      served_.push_back(name + ":" + (req.params.count("id") ? req.param("id") : ""));
      res.status = 200;
    };
  }

  httplib::Response Serve(const httplib::Request& req) {
    httplib::Response res;
    router_.Handle(req, res);
    return res;
  }

  Router router_;
  std::vector<std::string> served_;
};

TEST_F(RouterTest, ServesTheRouteWithItsParameters) {
  EXPECT_EQ(Serve(Req("GET", "/api/items/7")).status, 200);
  EXPECT_EQ(Serve(Req("DELETE", "/api/items/8")).status, 200);
  EXPECT_EQ(Serve(Req("GET", "/api/items/9/parts")).status, 200);
  EXPECT_EQ(Serve(Req("POST", "/login", /*authorized=*/false)).status, 200);
  EXPECT_EQ(served_, (std::vector<std::string>{"get:7", "delete:8", "parts:9", "login:"}));
}

TEST_F(RouterTest, WrongMethodIs405WithAllowInRegistrationOrder) {
  httplib::Response res = Serve(Req("PUT", "/api/items/7"));
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.get_header_value("Allow"), "GET, DELETE");
  EXPECT_EQ(res.get_header_value("Content-Type"), "application/problem+json");
  EXPECT_EQ(Detail(res), "Request method 'PUT' is not supported");
  EXPECT_EQ(Serve(Req("GET", "/login")).get_header_value("Allow"), "POST");
  EXPECT_TRUE(served_.empty());
}

TEST_F(RouterTest, UnknownPathsAre404) {
  EXPECT_EQ(Serve(Req("GET", "/elsewhere")).status, 404);
  EXPECT_EQ(Detail(Serve(Req("GET", "/apix"))), "No endpoint GET /apix");
  EXPECT_EQ(Serve(Req("GET", "/api")).status, 404);
  EXPECT_EQ(Serve(Req("GET", "/api/items/7/")).status, 404);
  EXPECT_EQ(Serve(Req("GET", "/api/items")).status, 404);
  EXPECT_TRUE(served_.empty());
}

TEST_F(RouterTest, AuthIsCheckedBeforeTheRouteUnderTheApiPrefixOnly) {
  httplib::Response res = Serve(Req("GET", "/api/no/such/route", /*authorized=*/false));
  EXPECT_EQ(res.status, 401);
  EXPECT_EQ(Detail(res), "no token");
  EXPECT_EQ(Serve(Req("GET", "/elsewhere", /*authorized=*/false)).status, 404);
}

TEST_F(RouterTest, ParamChecksRunAfterTheMethodCheck) {
  httplib::Response res = Serve(Req("GET", "/api/items/bad/parts"));
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(Detail(res), "bad id");
  EXPECT_EQ(Serve(Req("POST", "/api/items/bad")).status, 405);
  // An empty segment still matches the parameter (and reaches its check).
  EXPECT_EQ(Serve(Req("GET", "/api/items/")).status, 200);
  EXPECT_EQ(served_, (std::vector<std::string>{"get:"}));
}

}  // namespace
}  // namespace leafemu
