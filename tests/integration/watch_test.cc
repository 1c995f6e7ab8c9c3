// WatchCredentials through the real stack: emulator, App (libcurl, gRPC),
// a real channel; alerts through the real listener and the emulator's
// signed deliveries.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/alerts/signature.h"
#include "tests/integration/harness.h"
#include "tests/integration/watch_stream.h"
#include "tests/support/free_port.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr char kSecret[] = "webhook-secret-for-tests";

void FastPolls(ServerConfig& c, absl::Duration interval, absl::Duration jitter) {
  c.watch_poll_interval = interval;
  c.watch_poll_jitter = jitter;
  c.watch_max_backoff = interval * 2;
  c.max_attempts = 1;
}

// Sets a status through the emulator's control API (what Leaf's background
// processing does; it also sends the alert).
void SetStatus(Harness& h, const std::string& user, const std::string& status) {
  httplib::Client c(h.emulator().base_url());
  auto r = c.Post(absl::StrCat("/_emulator/users/", user, "/status").c_str(),
                  absl::StrCat(R"({"status":")", status, R"("})"), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
}

TEST(WatchTest, StartsWithTheStateOfEveryUser) {
  auto h = Harness::Start(
      nullptr, [](ServerConfig& c) { FastPolls(c, absl::Hours(1), absl::ZeroDuration()); });
  v1::Credentials a = h->Create(kUserA);
  WatchStream s(h->stub(), {kUserA, kUserB});
  std::map<std::string, v1::CredentialsChange> first;
  for (int i = 0; i < 2; ++i) {
    std::optional<v1::CredentialsChange> c = s.Next();
    ASSERT_TRUE(c.has_value());
    first[c->leaf_user_id()] = *c;
  }
  EXPECT_EQ(first[kUserA].kind(), v1::CHANGE_KIND_INITIAL);
  EXPECT_EQ(first[kUserA].source(), v1::CHANGE_SOURCE_INITIAL);
  EXPECT_EQ(first[kUserA].current().id(), a.id());
  EXPECT_EQ(first[kUserA].current().refresh_token(), "");  // BASIC view
  EXPECT_EQ(first[kUserA].current().refresh_token_hint(), "****1111");
  EXPECT_EQ(first[kUserB].kind(), v1::CHANGE_KIND_INITIAL);
  EXPECT_FALSE(first[kUserB].has_current());
  EXPECT_GT(first[kUserB].observe_time().seconds(), 0);
}

TEST(WatchTest, BadRequestsFailBeforeAnythingStarts) {
  auto h = Harness::Start();
  {
    WatchStream s(h->stub(), {});
    std::optional<grpc::Status> st = s.Ended();
    ASSERT_TRUE(st.has_value());
    EXPECT_EQ(st->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    WatchStream s(h->stub(), {kUserA, "not-a-uuid", kUserA});
    std::optional<grpc::Status> st = s.Ended();
    ASSERT_TRUE(st.has_value());
    EXPECT_EQ(st->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    google::rpc::BadRequest bad = BadRequestOf(*st);
    ASSERT_EQ(bad.field_violations_size(), 2);
    EXPECT_EQ(bad.field_violations(0).field(), "leaf_user_ids[1]");
    EXPECT_EQ(bad.field_violations(1).field(), "leaf_user_ids[2]");
  }
  EXPECT_EQ(h->emulator().CountRequests("GET", "ag-leader-credentials"), 0);
  EXPECT_EQ(h->app().watch_hub().streams(), 0);
}

TEST(WatchTest, PollingSeesAStatusChangeWithinIntervalPlusJitter) {
  const absl::Duration interval = absl::Milliseconds(300), jitter = absl::Milliseconds(100);
  auto h = Harness::Start(nullptr, [&](ServerConfig& c) { FastPolls(c, interval, jitter); });
  h->Create(kUserA);
  WatchStream s(h->stub(), {kUserA});
  ASSERT_EQ(s.Next()->kind(), v1::CHANGE_KIND_INITIAL);
  const absl::Time changed = absl::Now();
  ASSERT_TRUE(h->emulator().SetCredentialStatus(kUserA, "UNAUTHENTICATED"));
  std::optional<v1::CredentialsChange> c = s.Next(absl::Seconds(3));
  const absl::Duration seen = absl::Now() - changed;
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind(), v1::CHANGE_KIND_STATUS_CHANGED);
  EXPECT_EQ(c->source(), v1::CHANGE_SOURCE_POLL);
  EXPECT_EQ(c->previous().status(), v1::CREDENTIAL_STATUS_OK);
  EXPECT_EQ(c->current().status(), v1::CREDENTIAL_STATUS_UNAUTHENTICATED);
  EXPECT_LE(seen, interval + jitter + absl::Milliseconds(200)) << seen;
}

TEST(WatchTest, DeleteAndReplaceAreSeen) {
  auto h = Harness::Start(nullptr, [](ServerConfig& c) {
    FastPolls(c, absl::Milliseconds(150), absl::ZeroDuration());
  });
  v1::Credentials first = h->Create(kUserA);
  WatchStream s(h->stub(), {kUserA});
  ASSERT_EQ(s.Next()->kind(), v1::CHANGE_KIND_INITIAL);
  v1::Credentials second = h->Create(kUserA, "refresh-token-ZZZZ9999");
  std::optional<v1::CredentialsChange> c = s.Next();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind(), v1::CHANGE_KIND_REPLACED);
  EXPECT_EQ(c->previous().id(), first.id());
  EXPECT_EQ(c->current().id(), second.id());

  v1::DeleteCredentialsRequest del;
  del.set_leaf_user_id(kUserA);
  google::protobuf::Empty empty;
  ASSERT_TRUE(h->stub().DeleteCredentials(Harness::Context().get(), del, &empty).ok());
  c = s.Next();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind(), v1::CHANGE_KIND_DELETED);
  EXPECT_EQ(c->previous().id(), second.id());
  EXPECT_FALSE(c->has_current());

  h->Create(kUserA);
  c = s.Next();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind(), v1::CHANGE_KIND_CREATED);
}

TEST(WatchTest, ALeafOutageIsOneErrorAndRecoveryANewState) {
  auto h = Harness::Start(nullptr, [](ServerConfig& c) {
    FastPolls(c, absl::Milliseconds(100), absl::ZeroDuration());
  });
  h->Create(kUserA);
  WatchStream s(h->stub(), {kUserA});
  ASSERT_EQ(s.Next()->kind(), v1::CHANGE_KIND_INITIAL);
  leafemu::Fault outage;
  outage.kind = leafemu::Fault::Kind::kStatus;
  outage.status = 503;
  outage.method = "GET";
  outage.times = -1;
  h->emulator().InjectFault(outage);
  std::optional<v1::CredentialsChange> c = s.Next();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind(), v1::CHANGE_KIND_ERROR);
  EXPECT_EQ(c->error().code(), static_cast<int>(grpc::StatusCode::UNAVAILABLE));
  EXPECT_FALSE(c->error().message().empty());
  EXPECT_GE(c->error().details_size(), 1);  // the ErrorInfo
  EXPECT_TRUE(c->has_previous());
  // One error per outage, however many reads fail.
  EXPECT_FALSE(s.Next(absl::Milliseconds(500)).has_value());
  h->emulator().ClearFaults();
  c = s.Next();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind(), v1::CHANGE_KIND_INITIAL);
  EXPECT_EQ(c->current().status(), v1::CREDENTIAL_STATUS_OK);
}

TEST(WatchTest, CancelFreesTheRegistrationAtOnce) {
  auto h = Harness::Start(nullptr, [](ServerConfig& c) {
    FastPolls(c, absl::Milliseconds(100), absl::ZeroDuration());
  });
  auto s = std::make_unique<WatchStream>(h->stub(), std::vector<std::string>{kUserA});
  ASSERT_TRUE(s->Next().has_value());
  EXPECT_EQ(h->app().watch_hub().users(), 1);
  s->Cancel();
  ASSERT_TRUE(s->Ended().has_value());
  const absl::Time deadline = absl::Now() + absl::Seconds(2);
  while (h->app().watch_hub().streams() > 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(h->app().watch_hub().streams(), 0);
  EXPECT_EQ(h->app().watch_hub().users(), 0);
  // No more reads of the user.
  absl::SleepFor(absl::Milliseconds(150));
  h->emulator().ClearRequests();
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(h->emulator().CountRequests("GET", "ag-leader-credentials"), 0);
}

TEST(WatchTest, ShutdownEndsStreamsWithShuttingDownWithinTheGrace) {
  auto h = Harness::Start(
      nullptr, [](ServerConfig& c) { FastPolls(c, absl::Hours(1), absl::ZeroDuration()); });
  WatchStream s(h->stub(), {kUserA});
  ASSERT_TRUE(s.Next().has_value());
  const absl::Time start = absl::Now();
  h->app().Shutdown(absl::Seconds(5));
  std::optional<grpc::Status> st = s.Ended();
  ASSERT_TRUE(st.has_value());
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(st->error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ErrorInfoOf(*st).reason(), "SHUTTING_DOWN");
}

TEST(WatchTest, LimitsAreResourceExhausted) {
  auto h = Harness::Start(nullptr, [](ServerConfig& c) {
    FastPolls(c, absl::Hours(1), absl::ZeroDuration());
    c.watch_max_streams = 1;
  });
  WatchStream first(h->stub(), {kUserA});
  ASSERT_TRUE(first.Next().has_value());
  WatchStream second(h->stub(), {kUserB});
  std::optional<grpc::Status> st = second.Ended();
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ErrorInfoOf(*st).reason(), "TOO_MANY_WATCH_STREAMS");
}

class AlertsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = FreePort();
    h_ = Harness::Start([](leafemu::EmulatorOptions& o) { o.alert_retry_scale = 0.0001; },
                        [this](ServerConfig& c) {
                          FastPolls(c, absl::Hours(1), absl::ZeroDuration());
                          c.alerts_listen = absl::StrCat("127.0.0.1:", port_);
                          c.alerts_public_url = url();
                          c.alerts_secret = Secret(kSecret);
                          c.alerts_min_prompt_interval = MinPromptInterval();
                        });
    ASSERT_NE(h_, nullptr);
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (!h_->app().webhook_registrar()->done() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    ASSERT_TRUE(h_->app().webhook_registrar()->done());
  }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_, "/leaf/alerts"); }
  // Short, so that an alert right after a stream's first read is read at
  // once (the doorbell tests below space prompts).
  virtual absl::Duration MinPromptInterval() const { return absl::Milliseconds(100); }

  int port_ = 0;
  std::unique_ptr<Harness> h_;
};

TEST_F(AlertsTest, RegistersTheWebhookOnceAndAnswersTheConfirmation) {
  httplib::Client c(h_->emulator().base_url());
  httplib::Headers auth = {{"Authorization", absl::StrCat("Bearer ", kStaticToken)}};
  auto list = c.Get("/services/alerts/api/alerts/webhooks", auth);
  ASSERT_TRUE(list);
  EXPECT_NE(list->body.find("credentialsUnauthenticated"), std::string::npos);
  EXPECT_NE(list->body.find("credentialsLimitedPermission"), std::string::npos);
  EXPECT_NE(list->body.find(url()), std::string::npos);
  // The confirmation reached the listener and was acknowledged.
  const absl::Time deadline = absl::Now() + absl::Seconds(2);
  while (h_->emulator().AlertDeliveries().empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_FALSE(h_->emulator().AlertDeliveries().empty());
  EXPECT_EQ(h_->emulator().AlertDeliveries()[0].http_status, 200);

  // A second replica with the same URL finds the webhook: nothing new.
  ServerConfig again;
  again.listen = "127.0.0.1:0";
  again.leaf_api_url = h_->emulator().base_url();
  again.leaf_token = Secret(kStaticToken);
  again.alerts_public_url = url();
  again.alerts_secret = Secret(kSecret);
  auto replica = App::Start(again);
  ASSERT_TRUE(replica.ok());
  const absl::Time until = absl::Now() + absl::Seconds(5);
  while (!(*replica)->webhook_registrar()->done() && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_TRUE((*replica)->webhook_registrar()->done());
  EXPECT_EQ(h_->emulator().CountRequests("POST", "/alerts/webhooks"), 1);
}

TEST_F(AlertsTest, ASignedAlertRevealsTheChangeWithinASecond) {
  h_->Create(kUserA);
  WatchStream s(h_->stub(), {kUserA});
  ASSERT_EQ(s.Next()->kind(), v1::CHANGE_KIND_INITIAL);
  const absl::Time changed = absl::Now();
  SetStatus(*h_, kUserA, "UNAUTHENTICATED");
  std::optional<v1::CredentialsChange> c = s.Next(absl::Seconds(3));
  const absl::Duration seen = absl::Now() - changed;
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind(), v1::CHANGE_KIND_STATUS_CHANGED);
  EXPECT_EQ(c->source(), v1::CHANGE_SOURCE_LEAF_ALERT);
  EXPECT_LT(seen, absl::Seconds(1));
  std::cout << "alert-to-change latency: " << absl::ToDoubleMilliseconds(seen) << " ms\n";
  EXPECT_NE(
      h_->app().metrics().Text().find(R"(agleader_alerts_received_total{result="prompted"} 1)"),
      std::string::npos);
}

TEST_F(AlertsTest, AForgedAlertIsRefusedAndChangesNothing) {
  h_->Create(kUserA);
  WatchStream s(h_->stub(), {kUserA});
  ASSERT_EQ(s.Next()->kind(), v1::CHANGE_KIND_INITIAL);
  ASSERT_TRUE(h_->emulator().SetCredentialStatus(kUserA, "UNAUTHENTICATED"));  // no alert
  const std::string body =
      absl::StrCat(R"({"credentialId":")", h_->emulator().GetStored(kUserA)->id,
                   R"(","status":"UNAUTHENTICATED"})");
  httplib::Client c("127.0.0.1", port_);
  auto forged =
      c.Post("/leaf/alerts", {{"X-Leaf-Signature", alerts::SignBody("guessed-secret", body)}}, body,
             "application/json");
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 401);
  auto unsigned_post = c.Post("/leaf/alerts", body, "application/json");
  ASSERT_TRUE(unsigned_post);
  EXPECT_EQ(unsigned_post->status, 401);
  EXPECT_FALSE(s.Next(absl::Milliseconds(500)).has_value());  // no re-read, no change
  EXPECT_NE(h_->app().metrics().Text().find(
                R"(agleader_alerts_received_total{result="bad_signature"} 2)"),
            std::string::npos);
}

// The listener answers every signed alert alike: it cannot know whether
// the credential is watched (a replica sharing alerts through a bus would
// not). Before the alert bus it answered "prompted" or
// "unknown_credential". What the alert cost is still counted, by the watch
// hub, under the same metric and labels.
TEST_F(AlertsTest, TheAnswerIsTheSameWhetherOrNotTheCredentialIsWatched) {
  h_->Create(kUserA);
  WatchStream s(h_->stub(), {kUserA});
  ASSERT_EQ(s.Next()->kind(), v1::CHANGE_KIND_INITIAL);
  httplib::Client c("127.0.0.1", port_);
  auto post = [&](const std::string& credential_id) {
    const std::string body =
        absl::StrCat(R"({"credentialId":")", credential_id, R"(","status":"UNAUTHENTICATED"})");
    return c.Post("/leaf/alerts", {{"X-Leaf-Signature", alerts::SignBody(kSecret, body)}}, body,
                  "application/json");
  };
  auto watched = post(h_->emulator().GetStored(kUserA)->id);
  auto unknown = post("no-such-credential");
  ASSERT_TRUE(watched);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(watched->status, 200);
  EXPECT_EQ(unknown->status, 200);
  EXPECT_EQ(watched->body, R"({"result":"accepted"})");
  EXPECT_EQ(unknown->body, watched->body);
  const std::string text = h_->app().metrics().Text();
  EXPECT_NE(text.find(R"(agleader_alerts_received_total{result="prompted"} 1)"), std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(agleader_alerts_received_total{result="unknown_credential"} 1)"),
            std::string::npos);
  EXPECT_EQ(text.find(R"(result="accepted")"), std::string::npos) << "a new label value";
}

// The alert of one credential, signed, and a client posting it to the
// listener over one keep-alive connection.
struct Replayer {
  Replayer(Harness& h, int port)
      : body(absl::StrCat(R"({"credentialId":")", h.emulator().GetStored(kUserA)->id,
                          R"(","status":"UNAUTHENTICATED"})")),
        signature(alerts::SignBody(kSecret, body)),
        client("127.0.0.1", port) {
    client.set_keep_alive(true);
    client.set_tcp_nodelay(true);  // headers and body in separate writes: no 40 ms Nagle stall
  }
  // Posts the alert `n` times; how many were answered 2xx.
  int Post(int n) {
    int accepted = 0;
    for (int i = 0; i < n; ++i) {
      auto r =
          client.Post("/leaf/alerts", {{"X-Leaf-Signature", signature}}, body, "application/json");
      if (r && r->status / 100 == 2) ++accepted;
    }
    return accepted;
  }
  const std::string body;
  const std::string signature;
  httplib::Client client;
};

class AlertDoorbellTest : public AlertsTest {
 protected:
  absl::Duration MinPromptInterval() const override { return absl::Seconds(1); }
};

// An alert is a doorbell: 3,000 replays of one signed alert cost one read per
// --alerts_min_prompt_interval. Before the fix each replay read Leaf (the
// issue: 1,963 reads of one user in 20 s).
TEST_F(AlertDoorbellTest, ReplaysOfOneAlertCostAtMostOneReadPerInterval) {
  h_->Create(kUserA);
  WatchStream s(h_->stub(), {kUserA});
  ASSERT_EQ(s.Next()->kind(), v1::CHANGE_KIND_INITIAL);
  const absl::Time start = absl::Now();
  h_->emulator().ClearRequests();
  Replayer replayer(*h_, port_);
  EXPECT_EQ(replayer.Post(3000), 3000);
  // The prompted read comes 1 s after the last read (spacing), whatever
  // came meanwhile.
  absl::SleepFor(start + absl::Milliseconds(1500) - absl::Now());
  const absl::Duration elapsed = absl::Now() - start;
  const int reads = h_->emulator().CountRequests("GET", "ag-leader-credentials");
  std::cout << "3000 replays in " << absl::ToDoubleSeconds(elapsed) << " s: " << reads
            << " Leaf reads\n";
  EXPECT_GE(reads, 1) << "the alert never rang";
  EXPECT_LE(reads, 1 + static_cast<int>(elapsed / absl::Seconds(1))) << reads;
}

// While a user's reads fail, replays do not read it at all (its backoff
// stands). Before the fix every replay read Leaf during the outage.
TEST_F(AlertDoorbellTest, AlertsDuringALeafOutageNeverBypassTheBackoff) {
  h_->Create(kUserA);
  WatchStream s(h_->stub(), {kUserA});
  ASSERT_EQ(s.Next()->kind(), v1::CHANGE_KIND_INITIAL);
  Replayer replayer(*h_, port_);
  leafemu::Fault outage;
  outage.kind = leafemu::Fault::Kind::kStatus;
  outage.status = 503;
  outage.method = "GET";
  outage.times = -1;
  h_->emulator().InjectFault(outage);
  ASSERT_EQ(replayer.Post(1), 1);  // rings once: a read 1 s after the last, which fails
  std::optional<v1::CredentialsChange> c = s.Next(absl::Seconds(10));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind(), v1::CHANGE_KIND_ERROR);
  h_->emulator().ClearRequests();
  EXPECT_EQ(replayer.Post(3000), 3000);
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(h_->emulator().CountRequests("GET", "ag-leader-credentials"), 0);
}

}  // namespace
}  // namespace leafsvc::testing
