// Fleet mode through the real stack: two replicas (two Apps), one Leaf
// emulator, one real redis-server. A Leaf alert received by replica A
// reaches a watcher on replica B at once (polls are an hour apart here, so
// only the alert can tell B); with Redis killed both replicas keep serving
// alone and say so (agleader_fleet_redis_up 0); with Redis back they share
// alerts again without a restart.
#include <httplib.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/alerts/signature.h"
#include "tests/integration/harness.h"
#include "tests/integration/watch_stream.h"
#include "tests/support/free_port.h"
#include "tests/support/redis_server.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr char kSecret[] = "webhook-secret-for-fleet-tests-0123456789";

class FleetAlertsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::Available()) GTEST_SKIP() << "no redis-server on this machine";
    ASSERT_TRUE(redis_.Start().ok());
    port_a_ = FreePort();
    a_ = Harness::Start(nullptr, [this](ServerConfig& c) {
      Fleet(c);
      c.alerts_listen = absl::StrCat("127.0.0.1:", port_a_);
    });
    ASSERT_NE(a_, nullptr);
    ServerConfig b = Harness::Config(a_->emulator().base_url());
    Fleet(b);
    absl::StatusOr<std::unique_ptr<App>> started = App::Start(b);
    ASSERT_TRUE(started.ok()) << started.status();
    b_ = *std::move(started);
    b_stub_ = v1::AgLeaderCredentials::NewStub(
        grpc::CreateChannel(b_->target(), grpc::InsecureChannelCredentials()));
  }

  void Fleet(ServerConfig& c) {
    c.redis_url = Secret(absl::StrCat("redis://127.0.0.1:", redis_.port(), "/0"));
    c.watch_poll_interval = absl::Hours(1);  // only an alert can tell
    c.watch_poll_jitter = absl::ZeroDuration();
    c.alerts_secret = Secret(kSecret);
    c.alerts_min_prompt_interval = absl::ZeroDuration();
  }

  // Changes the status at Leaf without Leaf's own alert, then posts the
  // alert to replica A as Leaf would.
  void AlertToA(const std::string& user, const std::string& status) {
    ASSERT_TRUE(a_->emulator().SetCredentialStatus(user, status));
    const std::string body =
        absl::StrCat(R"({"credentialId":")", a_->emulator().GetStored(user)->id, R"(","status":")",
                     status, R"(","type":"credentialsUnauthenticated"})");
    httplib::Client c("127.0.0.1", port_a_);
    auto r = c.Post("/leaf/alerts", {{"X-Leaf-Signature", alerts::SignBody(kSecret, body)}}, body,
                    "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
  }

  static bool RedisUp(App& app) {
    return app.metrics().Text().find("agleader_fleet_redis_up 1") != std::string::npos;
  }

  RedisServer redis_;
  int port_a_ = 0;
  std::unique_ptr<Harness> a_;
  std::unique_ptr<App> b_;
  std::unique_ptr<v1::AgLeaderCredentials::Stub> b_stub_;
};

TEST_F(FleetAlertsTest, AnAlertToOneReplicaReachesTheWatchersOfAnother) {
  ASSERT_TRUE(WaitFor([&] { return RedisUp(a_->app()) && RedisUp(*b_); }));
  a_->Create(kUserA);
  WatchStream on_b(*b_stub_, {kUserA});
  std::optional<v1::CredentialsChange> first = on_b.Next();
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(first->kind(), v1::CHANGE_KIND_INITIAL);
  const absl::Time sent = absl::Now();
  AlertToA(kUserA, "UNAUTHENTICATED");
  std::optional<v1::CredentialsChange> change = on_b.Next(absl::Seconds(5));
  const absl::Duration took = absl::Now() - sent;
  ASSERT_TRUE(change.has_value()) << "replica B never heard of the alert replica A received";
  EXPECT_EQ(change->kind(), v1::CHANGE_KIND_STATUS_CHANGED);
  EXPECT_EQ(change->source(), v1::CHANGE_SOURCE_LEAF_ALERT);
  EXPECT_LT(took, absl::Seconds(2));
  std::printf("alert to A, change on B: %.1f ms\n", absl::ToDoubleMilliseconds(took));
}

TEST_F(FleetAlertsTest, WithRedisGoneEachReplicaServesAloneAndRejoinsWhenItIsBack) {
  ASSERT_TRUE(WaitFor([&] { return RedisUp(a_->app()) && RedisUp(*b_); }));
  a_->Create(kUserA);
  WatchStream on_a(a_->stub(), {kUserA});
  ASSERT_EQ(on_a.Next()->kind(), v1::CHANGE_KIND_INITIAL);
  WatchStream on_b(*b_stub_, {kUserA});
  ASSERT_EQ(on_b.Next()->kind(), v1::CHANGE_KIND_INITIAL);

  redis_.Kill();
  ASSERT_TRUE(WaitFor([&] {
    return a_->app().metrics().Text().find("agleader_fleet_redis_up 0") != std::string::npos;
  }));
  // Callers are still served.
  v1::GetCredentialsRequest get;
  get.set_leaf_user_id(kUserA);
  v1::Credentials out;
  EXPECT_TRUE(b_stub_->GetCredentials(Harness::Context().get(), get, &out).ok());
  // An alert to A still reaches A's own watchers (B's wait for their poll).
  AlertToA(kUserA, "UNAUTHENTICATED");
  std::optional<v1::CredentialsChange> local = on_a.Next(absl::Seconds(5));
  ASSERT_TRUE(local.has_value());
  EXPECT_EQ(local->kind(), v1::CHANGE_KIND_STATUS_CHANGED);

  // Redis back on the same address: both rejoin without a restart.
  ASSERT_TRUE(redis_.Restart().ok());
  ASSERT_TRUE(WaitFor([&] { return RedisUp(a_->app()) && RedisUp(*b_); }, absl::Seconds(20)));
  // B still believes OK (it never heard the alert of the outage): each
  // status below is news to it. An alert sent before B's stream reader was
  // back may be missed (the killed Redis lost its stream): send another.
  const char* statuses[] = {"MISSING_PERMISSION", "UNAUTHENTICATED"};
  bool heard = false;
  for (int i = 0; i < 10 && !heard; ++i) {
    AlertToA(kUserA, statuses[i % 2]);
    std::optional<v1::CredentialsChange> c = on_b.Next(absl::Seconds(1));
    heard = c.has_value() && c->source() == v1::CHANGE_SOURCE_LEAF_ALERT;
  }
  EXPECT_TRUE(heard) << "replica B never heard an alert after Redis came back";
}

}  // namespace
}  // namespace leafsvc::testing
