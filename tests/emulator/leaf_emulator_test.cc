// Tests of the LeafEmulator facade (leaf_emulator.h): start and stop, serving
// under load, request recording, reset and the in-process test controls.
#include "emulator/leaf_emulator.h"

#include <httplib.h>

#include <atomic>
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

using LeafEmulatorTest = EmulatorTest;

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

}  // namespace
}  // namespace leafemu
