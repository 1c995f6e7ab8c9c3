// Tests of the LeafEmulator facade (leaf_emulator.h): start and stop, serving
// under load, request recording, reset, the in-process test controls and
// Leaf's request limit as clients meet it.
#include "emulator/leaf_emulator.h"

#include <httplib.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/emulator/emulator_fixture.h"

namespace leafemu {
namespace {

using namespace emutest;  // NOLINT: the shared fixture's constants and helpers

class LeafEmulatorTest : public EmulatorTest {
 protected:
  // The fixture's options with Leaf's request limit set.
  static EmulatorOptions Limited(int per_minute, std::optional<int> retry_after = std::nullopt) {
    EmulatorOptions o = DefaultOptions();
    o.rate_limit_per_minute = per_minute;
    o.rate_limit_retry_after_seconds = retry_after;
    return o;
  }
};

TEST_F(LeafEmulatorTest, StartFailsWhenPortIsTaken) {
  EmulatorOptions o = DefaultOptions();
  o.port = emu_->port();
  auto second = LeafEmulator::Start(o);
  EXPECT_FALSE(second.ok());
  EXPECT_EQ(emu_->base_url(), absl::StrCat("http://127.0.0.1:", emu_->port()));
}

TEST_F(LeafEmulatorTest, StopDoesNotWaitForSlowFaults) {
  Fault f;
  f.kind = Fault::Kind::kLatencyOnly;
  f.latency = absl::Seconds(30);
  f.times = -1;
  emu_->InjectFault(f);
  std::thread caller([this] { GetCreds(); });
  absl::SleepFor(absl::Milliseconds(100));
  // An idle keep-alive connection must not hold Stop() either.
  httplib::Client keep_alive("127.0.0.1", emu_->port());
  keep_alive.set_keep_alive(true);
  ASSERT_TRUE(keep_alive.Get("/_emulator/health"));
  absl::Time start = absl::Now();
  emu_->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  caller.join();
}

TEST_F(LeafEmulatorTest, ServesManySlowRequestsConcurrently) {
  Fault f;
  f.kind = Fault::Kind::kLatencyOnly;
  f.latency = absl::Milliseconds(400);
  f.times = -1;
  emu_->InjectFault(f);
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  absl::Time start = absl::Now();
  for (int i = 0; i < 24; ++i) {
    threads.emplace_back([this, &answered] {
      auto res = GetCreds();
      if (res && res->status == 404) ++answered;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(answered.load(), 24);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1200));
}

TEST_F(LeafEmulatorTest, KeepAliveConnectionServesManyRequests) {
  httplib::Client c("127.0.0.1", emu_->port());
  c.set_keep_alive(true);
  for (int i = 0; i < 5; ++i) {
    auto res = c.Get(kCredsPath, Auth());
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404);
  }
}

TEST_F(LeafEmulatorTest, RecordsRequestsWithStatusAndLowercaseHeaders) {
  ASSERT_EQ(CreateCreds()->status, 201);
  NewClient()->Get(std::string(kEventsPath) + "?page=0&size=20", Auth());
  NewClient()->Get("/_emulator/health");  // control calls are not recorded
  std::vector<RecordedRequest> reqs = emu_->Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path, kCredsPath);
  EXPECT_EQ(reqs[0].status, 201);
  EXPECT_EQ(reqs[0].body, kCreateBody);
  EXPECT_EQ(reqs[0].headers.at("authorization"), absl::StrCat("Bearer ", kStaticToken));
  EXPECT_EQ(reqs[0].headers.at("content-type"), "application/json");
  EXPECT_EQ(reqs[1].method, "GET");
  EXPECT_EQ(reqs[1].path, kEventsPath);
  EXPECT_EQ(reqs[1].query, "page=0&size=20");
  EXPECT_EQ(reqs[1].status, 200);
  EXPECT_EQ(emu_->CountRequests("GET", "/events"), 1);
  EXPECT_EQ(emu_->CountRequests("", "ag-leader-credentials"), 2);
  EXPECT_EQ(emu_->CountRequests("DELETE", ""), 0);
  emu_->ClearRequests();
  EXPECT_TRUE(emu_->Requests().empty());
}

TEST_F(LeafEmulatorTest, RecordingKeepsOnlyTheNewestRequests) {
  EmulatorOptions o = DefaultOptions();
  o.max_recorded_requests = 3;
  StartWith(o);
  for (int i = 0; i < 5; ++i) {
    NewClient()->Get(absl::StrCat(kCredsPath, "?i=", i), Auth());
  }
  std::vector<RecordedRequest> reqs = emu_->Requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].query, "i=2");
  EXPECT_EQ(reqs[2].query, "i=4");
}

TEST_F(LeafEmulatorTest, ResetForgetsEverything) {
  ASSERT_EQ(CreateCreds()->status, 201);
  Fault f;
  f.times = -1;
  f.path_contains = "/nothing-matches";
  emu_->InjectFault(f);
  emu_->Reset();
  EXPECT_FALSE(emu_->GetStored(kLeafUser));
  EXPECT_TRUE(emu_->Requests().empty());
  ExpectProblem(GetCreds(), 404);
}

TEST_F(LeafEmulatorTest, SetCredentialStatusChangesGetAndAddsEvent) {
  EXPECT_FALSE(emu_->SetCredentialStatus(kLeafUser, "UNAUTHENTICATED"));
  ASSERT_EQ(CreateCreds()->status, 201);
  ASSERT_TRUE(emu_->SetCredentialStatus(kLeafUser, "UNAUTHENTICATED"));
  EXPECT_STREQ(Parse(GetCreds()->body)["status"].GetString(), "UNAUTHENTICATED");
  rapidjson::Document events = Parse(GetEvents()->body);
  ASSERT_EQ(events.Size(), 2u);
  EXPECT_EQ(events[0]["statusCode"].GetInt(), 401);
  ASSERT_TRUE(emu_->SetCredentialStatus(kLeafUser, "SOMETHING_NEW"));
  EXPECT_STREQ(Parse(GetCreds()->body)["status"].GetString(), "SOMETHING_NEW");
}

TEST_F(LeafEmulatorTest, PutCredentialsIsServedByGet) {
  StoredCredentials c;
  c.fields = {{"refreshToken", "r"}, {"publicKey", "p"}, {"privateKey", "k"}};
  c.created_time = "2023-04-21T12:16:27.997586Z";
  emu_->PutCredentials(kLeafUser, c);
  rapidjson::Document d = Parse(GetCreds()->body);
  EXPECT_STREQ(d["createdTime"].GetString(), "2023-04-21T12:16:27.997586Z");
  EXPECT_STREQ(d["status"].GetString(), "OK");
  EXPECT_FALSE(std::string(d["id"].GetString()).empty());
  EXPECT_TRUE(emu_->GetEvents(kLeafUser).empty());
}

// Asserts `res` is the gateway's 429 (plain JSON, not problem+json) with
// Retry-After `retry_after` ("": none).
void ExpectGateway429(const httplib::Result& res, const std::string& retry_after = "") {
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 429);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  rapidjson::Document d = Parse(res->body);
  ASSERT_TRUE(d.IsObject()) << res->body;
  EXPECT_EQ(d.MemberCount(), 3u) << res->body;
  EXPECT_STREQ(d["error"].GetString(), "Request limit exceeded");
  EXPECT_TRUE(d["message"].IsString());
  EXPECT_EQ(d["status_code"].GetInt(), 429);
  EXPECT_EQ(res->has_header("Retry-After"), !retry_after.empty());
  EXPECT_EQ(res->get_header_value("Retry-After"), retry_after);
}

TEST_F(LeafEmulatorTest, OverTheLimitLeafAnswersTheGateways429WithoutRetryAfter) {
  StartWith(Limited(2));
  EXPECT_EQ(GetCreds()->status, 404);
  EXPECT_EQ(GetEvents()->status, 404);
  ExpectGateway429(GetCreds());
  ExpectGateway429(GetEvents());
}

TEST_F(LeafEmulatorTest, OverTheLimitRetryAfterIsSentWhenConfigured) {
  StartWith(Limited(1, 17));
  EXPECT_EQ(GetCreds()->status, 404);
  ExpectGateway429(GetCreds(), "17");
  emu_->SetRateLimit({1, std::nullopt});
  ExpectGateway429(GetCreds());
}

TEST_F(LeafEmulatorTest, ARefusedRequestHasNoEffect) {
  StartWith(Limited(1));
  ASSERT_EQ(GetCreds()->status, 404);
  ExpectGateway429(CreateCreds());
  EXPECT_FALSE(emu_->GetStored(kLeafUser));
  EXPECT_TRUE(emu_->GetEvents(kLeafUser).empty());
  ExpectGateway429(DeleteCreds());
  // Recorded as asked and answered.
  std::vector<RecordedRequest> reqs = emu_->Requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[1].method, "POST");
  EXPECT_EQ(reqs[1].status, 429);
  // The gateway refuses before Leaf misbehaves: a waiting fault is not spent.
  Fault f;
  f.status = 503;
  emu_->InjectFault(f);
  ExpectGateway429(GetCreds());
  emu_->SetRateLimit({0, std::nullopt});
  EXPECT_EQ(GetCreds()->status, 503);
  EXPECT_EQ(GetCreds()->status, 404);
  EXPECT_EQ(emu_->RateLimitCounters().rate_limited_count, 3);
}

TEST_F(LeafEmulatorTest, EachApiOwnerHasItsOwnBudgetLoginsIncluded) {
  EmulatorOptions o = Limited(3);
  o.accounts["second@example.com"] = "pw2";
  StartWith(o);
  auto token_of = [this](const std::string& body) {
    auto res = Login(body);
    EXPECT_EQ(res->status, 200);
    return std::string(Parse(res->body)["id_token"].GetString());
  };
  const std::string first_login = R"({"username":"grower@example.com","password":"s3cret"})";
  const std::string first = token_of(first_login);
  EXPECT_EQ(GetCreds(first)->status, 404);
  EXPECT_EQ(GetCreds(first)->status, 404);
  ExpectGateway429(GetCreds(first));
  ExpectGateway429(Login(first_login));  // a login counts against its account
  const std::string second = token_of(R"({"username":"second@example.com","password":"pw2"})");
  EXPECT_EQ(GetCreds(second)->status, 404);
  EXPECT_EQ(GetCreds(second)->status, 404);
  ExpectGateway429(GetCreds(second));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(GetCreds()->status, 404) << i;  // the static token
  ExpectGateway429(GetCreds());
  RateLimitStats s = emu_->RateLimitCounters();
  EXPECT_EQ(s.rate_limited_count, 4);
  EXPECT_EQ(s.requests_in_last_minute, 3);
  EXPECT_EQ(s.max_requests_in_any_minute, 3);
}

TEST_F(LeafEmulatorTest, EveryLeafEndpointCountsControlEndpointsDoNot) {
  StartWith(Limited(5));
  auto c = NewClient();
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(c->Get("/_emulator/health")->status, 200);
    ASSERT_EQ(c->Get("/_emulator/stats")->status, 200);
    ASSERT_EQ(c->Post(absl::StrCat("/_emulator/users/", kLeafUser, "/credentials"), kCreateBody,
                      "application/json")
                  ->status,
              200);
  }
  EXPECT_EQ(GetCreds()->status, 200);
  EXPECT_EQ(GetEvents()->status, 200);
  EXPECT_EQ(c->Get("/services/usermanagement/api/users", Auth())->status, 200);
  EXPECT_EQ(c->Get("/services/alerts/api/alerts/webhooks", Auth())->status, 200);
  EXPECT_EQ(c->Get("/services/usermanagement/api/no-such-thing", Auth())->status, 404);
  ExpectGateway429(c->Get("/services/alerts/api/alerts/webhooks", Auth()));
  ExpectGateway429(GetCreds());
  EXPECT_EQ(emu_->RateLimitCounters().max_requests_in_any_minute, 5);
}

TEST_F(LeafEmulatorTest, StartRefusesANegativeLimit) {
  EXPECT_FALSE(LeafEmulator::Start(Limited(-1)).ok());
  EXPECT_FALSE(LeafEmulator::Start(Limited(10, -1)).ok());
}

}  // namespace
}  // namespace leafemu
